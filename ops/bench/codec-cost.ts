/**
 * What the payload codec itself costs a marriage linkage: its history's payloads (read raw from
 * Temporal) decrypted and encrypted again many times over, in this process. A figure of CPU
 * time that the machine's other load barely moves, beside the linkages timed end to end.
 */
import { Connection } from "@temporalio/client";
import { loadConfig } from "../../platform/config";
import { isEncrypted, payloadCodec, payloadsIn } from "../../platform/payload-codec";

export interface CodecCost {
  /** Payloads the codec encrypts in one marriage linkage's history (each once by its writer, once or more read back). */
  payloads: number;
  bytes: number;
  /** Encrypting and decrypting them all once, in milliseconds of this process's time. */
  msPerLinkage: number;
}

export async function codecCost(env: NodeJS.ProcessEnv, workflowId: string, rounds = 200): Promise<CodecCost> {
  const config = loadConfig(env);
  const connection = await Connection.connect({ address: config.temporalAddress });
  try {
    const { history } = await connection.workflowService.getWorkflowExecutionHistory({ namespace: config.temporalNamespace, execution: { workflowId } });
    const sealed = payloadsIn(history)
      .map(({ payload }) => payload)
      .filter(isEncrypted);
    const codec = payloadCodec(config);
    const plain = await codec.decode(sealed);
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await codec.decode(await codec.encode(plain));
    const msPerLinkage = Math.round(((performance.now() - t0) / rounds) * 1000) / 1000;
    return { payloads: sealed.length, bytes: sealed.reduce((n, p) => n + (p.data?.length ?? 0), 0), msPerLinkage };
  } finally {
    await connection.close();
  }
}
