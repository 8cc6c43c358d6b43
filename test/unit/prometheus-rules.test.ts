/**
 * The ops artefacts hold together: promtool accepts the rules and their unit tests pass, every
 * alert is routed (severity) and documented (runbook anchor) and tested both ways, and the
 * Grafana dashboards parse, use the datasource variable and hold valid PromQL.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import YAML from "yaml";
import { openapi } from "../../contracts";
import { configFor, ensurePrometheus, PROMETHEUS_DIR } from "../../ops/stack/prometheus";

// Debian's promtool, installed on first use like the rest of the stack.
let bin = "";
before(async () => {
  bin = (await ensurePrometheus((line) => console.log(line))).promtool;
});
const promtool = () => bin;

const ROOT = path.join(__dirname, "../..");
const RULES = path.join(ROOT, "ops/prometheus/rules");
const TESTS = path.join(ROOT, "ops/prometheus/tests");
const DASHBOARDS = path.join(ROOT, "ops/grafana/dashboards");
const RUNBOOK = path.join(ROOT, "ops/runbook.md");
const RUNBOOK_URL = "https://github.com/linkage-hub/linkage-hub/blob/main/ops/runbook.md#";
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
const PANEL_TYPES = ["timeseries", "stat", "gauge", "table"];

const yamlFiles = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f));

function runPromtool(...args: string[]): void {
  const bin = promtool();
  const run = spawnSync(bin, args, { encoding: "utf8" });
  assert.equal(run.error, undefined, `${bin} ${args.join(" ")}: ${run.error?.message}`);
  assert.equal(run.status, 0, `${bin} ${args.join(" ")} exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface PromtoolTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}
interface Target {
  expr: string;
  datasource?: unknown;
}
interface Panel {
  title: string;
  type: string;
  datasource?: unknown;
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: unknown;
  includeAll?: boolean;
  allValue?: string;
}
interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const alertRules = (): Rule[] =>
  (YAML.parse(fs.readFileSync(path.join(RULES, "alerts.yml"), "utf8")) as { groups: { rules: Rule[] }[] }).groups
    .flatMap((g) => g.rules)
    .filter((r) => r.alert);
const promtoolTests = () => yamlFiles(TESTS).map((file) => ({ file, doc: YAML.parse(fs.readFileSync(file, "utf8")) as PromtoolTests }));
const dashboards = () =>
  fs
    .readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith(".json"))
    .map((f) => ({ file: f, dash: JSON.parse(fs.readFileSync(path.join(DASHBOARDS, f), "utf8")) as Dashboard }));

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of markdown.split("\n")) {
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

test("promtool accepts the Prometheus configuration, as checked in and as given other targets", () => {
  runPromtool("check", "config", path.join(PROMETHEUS_DIR, "prometheus.yml"));
  const other = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "prom-config-")), "prometheus.yml");
  fs.writeFileSync(
    other,
    configFor({ hub: ["10.0.0.1:3000", "10.0.0.2:9100"], "temporal-worker": ["10.0.0.3:9464"], "temporal-server": ["10.0.0.4:9233"] }, "5s"),
  );
  runPromtool("check", "config", other);
  const jobs = YAML.parse(fs.readFileSync(other, "utf8")).scrape_configs.map((j: { job_name: string; static_configs: { targets: string[] }[] }) => [
    j.job_name,
    j.static_configs[0]!.targets.length,
  ]);
  assert.deepEqual(jobs, [
    ["hub", 2],
    ["temporal-worker", 1],
    ["temporal-server", 1],
  ]);
});

test("promtool accepts every rules file", () => {
  const files = yamlFiles(RULES);
  assert.ok(files.length >= 2, "ops/prometheus/rules holds slo.yml and alerts.yml");
  for (const file of files) runPromtool("check", "rules", file);
});

test("the promtool unit tests of the rules pass", () => {
  const files = yamlFiles(TESTS);
  assert.ok(files.length > 0, "ops/prometheus/tests holds promtool tests");
  for (const file of files) runPromtool("test", "rules", file);
});

test("the SLO rules name linkage types of the contract and the step the incident workflow escalates", () => {
  const rules = fs.readFileSync(path.join(RULES, "slo.yml"), "utf8");
  const types = (openapi.components as { schemas: Record<string, { "x-extensible-enum": string[] }> }).schemas.LinkageType!["x-extensible-enum"];
  const named = [...rules.matchAll(/linkage_type=~?"([^"]+)"/g)].flatMap((m) => m[1]!.split("|"));
  assert.ok(named.length > 0);
  for (const type of named) assert.ok(types.includes(type), `slo.yml names linkage type "${type}", which the contract lacks`);
  const workflow = fs.readFileSync(path.join(ROOT, "workflows/linkages/incident-utilities.ts"), "utf8");
  for (const [, step] of rules.matchAll(/step="([^"]+)"/g))
    assert.ok(
      workflow.includes(`step: "${step}"`),
      `slo.yml counts escalations of step "${step}", which workflows/linkages/incident-utilities.ts never escalates`,
    );
});

test("every alert has a severity, a summary, a description and a runbook section", () => {
  const headings = anchors(fs.readFileSync(RUNBOOK, "utf8"));
  const rules = alertRules();
  assert.ok(rules.length > 0);
  for (const rule of rules) {
    const name = rule.alert!;
    assert.ok(["page", "ticket"].includes(rule.labels?.severity ?? ""), `${name}: labels.severity is page or ticket`);
    assert.ok(rule.annotations?.summary, `${name}: annotations.summary`);
    assert.ok(rule.annotations?.description?.includes("$labels"), `${name}: annotations.description names the affected labels`);
    const url = rule.annotations?.runbook_url ?? "";
    assert.ok(url.startsWith(RUNBOOK_URL), `${name}: runbook_url ${url} points into ops/runbook.md`);
    const anchor = url.slice(RUNBOOK_URL.length);
    assert.ok(headings.has(anchor), `${name}: ops/runbook.md has no heading with anchor #${anchor}`);
  }
});

test("every alert is tested firing and staying quiet", () => {
  const firing = new Set<string>();
  const quiet = new Set<string>();
  for (const { doc } of promtoolTests()) {
    for (const t of doc.tests.flatMap((g) => g.alert_rule_test ?? [])) (t.exp_alerts?.length ? firing : quiet).add(t.alertname);
  }
  for (const name of new Set(alertRules().map((r) => r.alert!))) {
    assert.ok(firing.has(name), `${name}: no promtool test expects it to fire`);
    assert.ok(quiet.has(name), `${name}: no promtool test expects it quiet (exp_alerts: [])`);
  }
});

test("the dashboards parse, take their datasource from the variable, and filter by the query variables", () => {
  const found = dashboards();
  assert.deepEqual(found.map((d) => d.file).sort(), ["hub-overview.json", "linkage-drilldown.json"]);
  for (const { file, dash } of found) {
    const vars = dash.templating.list;
    const ds = vars.find((v) => v.name === "datasource");
    assert.ok(ds && ds.type === "datasource" && ds.query === "prometheus", `${file}: a datasource variable of type prometheus`);
    for (const v of vars.filter((x) => x.type === "query")) {
      assert.deepEqual(v.datasource, DATASOURCE, `${file}: variable ${v.name} queries \${datasource}`);
      assert.ok(v.includeAll && v.allValue === ".*", `${file}: variable ${v.name} offers All as .*`);
    }
    assert.ok(dash.panels.length > 0, `${file}: has panels`);
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join("\n");
    for (const v of vars.filter((x) => x.type === "query")) assert.ok(exprs.includes(`=~"$${v.name}"`), `${file}: some panel filters by ${v.name}`);
    for (const panel of dash.panels) {
      assert.ok(PANEL_TYPES.includes(panel.type), `${file}: panel "${panel.title}" is a ${panel.type}`);
      assert.deepEqual(panel.datasource, DATASOURCE, `${file}: panel "${panel.title}" uses \${datasource}`);
      assert.ok(panel.targets?.length, `${file}: panel "${panel.title}" has targets`);
      for (const t of panel.targets!) assert.deepEqual(t.datasource, DATASOURCE, `${file}: a target of "${panel.title}" uses \${datasource}`);
    }
  }
});

test("every panel expression is valid PromQL", (t) => {
  // Each expression, with Grafana's variables filled in, becomes a recording rule that promtool parses.
  const rules = dashboards().flatMap(({ dash }) =>
    dash.panels.flatMap((p, i) =>
      (p.targets ?? []).map((target, j) => ({
        record: `dashboard:${dash.uid.replace(/-/g, "_")}:panel${i}_${j}`,
        expr: target.expr.replace(/\$__rate_interval/g, "1m").replace(/\$\{?(\w+)\}?/g, ".*"),
      })),
    ),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hub-dashboards-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "panels.yml");
  fs.writeFileSync(file, YAML.stringify({ groups: [{ name: "panels", rules }] }));
  runPromtool("check", "rules", file);
});

// Panels are named in the docs in emphasis, as _Overview › Panel title_ (the dashboard title after " / ").
test("the runbook and the SLO document name panels the dashboards have", () => {
  const titles = new Map(dashboards().map(({ dash }) => [dash.title.split(" / ")[1]!, new Set(dash.panels.map((p) => p.title))]));
  for (const doc of [RUNBOOK, path.join(ROOT, "ops/slo.md")]) {
    const refs = [
      ...fs
        .readFileSync(doc, "utf8")
        .replace(/\s*\n\s*/g, " ")
        .matchAll(/([*_])(\w+) › ([^*_]+)\1/g),
    ];
    assert.ok(refs.length > 0, `${path.basename(doc)} names dashboard panels`);
    for (const [, , dash, panel] of refs) {
      assert.ok(titles.has(dash!), `${path.basename(doc)} names a dashboard "${dash}"`);
      assert.ok(titles.get(dash!)!.has(panel!), `${path.basename(doc)} names a panel "${panel}" of ${dash}, which it lacks`);
    }
  }
});
