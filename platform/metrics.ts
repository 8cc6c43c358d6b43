/**
 * One /metrics per process carrying Moleculer's metrics and prom-client's registry
 * (its default process metrics included). Moleculer's Prometheus reporter always opens a
 * server of its own; this subclass keeps only its text rendering.
 */
import { MetricReporters, type ServiceBroker } from "moleculer";
import client from "prom-client";

client.collectDefaultMetrics();

export const registry = client.register;

export class HubPrometheusReporter extends MetricReporters.Prometheus {
  override init(metricRegistry: Parameters<MetricReporters.Prometheus["init"]>[0]): void {
    // The base class's init only: no HTTP server. The labels are what Prometheus's init sets.
    MetricReporters.Base.prototype.init.call(this, metricRegistry);
    (this as unknown as { defaultLabels: unknown }).defaultLabels = this.opts.defaultLabels?.call(this, metricRegistry);
  }

  override async stop(): Promise<void> {}
}

/** The Prometheus text of this process: Moleculer's metrics, then prom-client's. */
export async function metricsText(broker: ServiceBroker): Promise<string> {
  const reporter = broker.metrics.reporter.find((r) => r instanceof HubPrometheusReporter) as HubPrometheusReporter | undefined;
  const moleculer = reporter ? reporter.generatePrometheusResponse() : "";
  return moleculer + (await registry.metrics());
}

export const METRICS_CONTENT_TYPE = registry.contentType;

/**
 * A reading that gauges take when scraped (readiness, JetStream consumer info, Temporal
 * counts): `read` runs at most once every `ms`, so the gauges of one scrape share it and
 * frequent scrapes do not hammer what they read. A failed reading is not kept.
 */
export function sampled<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > ms) {
      const value = read();
      last = { at: Date.now(), value };
      value.catch(() => last?.value === value && (last = undefined));
    }
    return last.value;
  };
}
