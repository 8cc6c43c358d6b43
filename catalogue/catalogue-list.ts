/**
 * `catalogue.list` (GET /v1/catalogue) and the page's listing: the catalogue searched, a page
 * of it (or, for the page, all of it) with each entry's figures for 7 and 30 days.
 */
import type { components } from "../contracts/generated/types";
import type { Queryable } from "../platform/db";
import { catalogueEntries, type CatalogueEntry, type Listed } from "./catalogue-entries";
import { matches, pageOf, wordsOf } from "./catalogue-search";
import { figuresOf, type WindowFigures } from "./figures";

type Schemas = components["schemas"];

/** An entry the figures do not name has nothing counted yet. */
const noData = (): WindowFigures => ({
  completion: { rate: null, completed: 0, total: 0 },
  availability: { rate: null, ok: 0, probes: 0 },
  latencyP95Ms: null,
});

async function withFigures(db: Queryable, listed: Listed[]): Promise<CatalogueEntry[]> {
  const figures = await figuresOf(
    db,
    listed.map((e) => e.id),
  );
  return listed.map((e) => ({ ...e, figures: figures.get(e.id) ?? { last7Days: noData(), last30Days: noData() } }));
}

/** The entries a search finds, by id. */
export async function searchCatalogue(db: Queryable, instance: string, q?: string): Promise<Listed[]> {
  const words = wordsOf(q);
  return (await catalogueEntries(db, instance)).filter((e) => matches(e, words));
}

export async function listCatalogue(db: Queryable, instance: string, params: Schemas["CatalogueListParams"]): Promise<Schemas["CataloguePage"]> {
  const found = await searchCatalogue(db, instance, params.q);
  const page = pageOf(found, wordsOf(params.q), params.limit ?? 20, params.cursor);
  return { items: await withFigures(db, page.items), next: page.next };
}

/** Every entry a search finds, with figures: the page shows them all. */
export async function wholeCatalogue(db: Queryable, instance: string, q?: string): Promise<CatalogueEntry[]> {
  return withFigures(db, await searchCatalogue(db, instance, q));
}
