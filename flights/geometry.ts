/**
 * Flight areas and the places they may cross, with @turf/turf (never hand-written geometry): a
 * Point with a radius becomes a 64-sided circle polygon; a Polygon is checked (every ring
 * closed; not crossing itself, turf `kinks`) and rewound to RFC 7946's winding (outer ring
 * counterclockwise, holes clockwise) when sent the other way, which RFC 7946 asks parsers not to
 * refuse. Intersection counts touching edges (turf `booleanIntersects`); a bounding box is
 * compared first, so a thousand zones cost a thousand box checks and a few exact ones.
 */
import { bbox, booleanIntersects, buffer, circle, kinks, polygon as turfPolygon, rewind } from "@turf/turf";
import type { components } from "../contracts/generated/types";

type Schemas = components["schemas"];
export type Polygon = Schemas["GeoPolygon"];
export type BBox = [number, number, number, number];
type PolygonFeature = ReturnType<typeof turfPolygon>;

/** A place with its polygon and bounding box, made once. */
export interface Shape {
  feature: PolygonFeature;
  box: BBox;
}

export interface AreaProblem {
  /** 400: the GeoJSON is not valid (a ring not closed); 422: valid, but not an area one can fly (it crosses itself). */
  status: 400 | 422;
  pointer: string;
  detail: string;
}

const CIRCLE_STEPS = 64;

export const shapeOf = (p: Polygon): Shape => {
  const feature = turfPolygon(p.coordinates as number[][][]);
  return { feature, box: bbox(feature) as BBox };
};

/** The area as checked (a polygon), or what is wrong with it, each naming its field under `/area`. */
export function flightArea(area: Schemas["FlightArea"]): { polygon: Polygon } | { problems: AreaProblem[] } {
  if (area.type === "Point") {
    const point = area as unknown as { coordinates: [number, number]; radiusM: number };
    const made = circle(point.coordinates, point.radiusM / 1000, { steps: CIRCLE_STEPS, units: "kilometers" });
    return { polygon: { type: "Polygon", coordinates: made.geometry.coordinates as Polygon["coordinates"] } };
  }
  const rings = (area as unknown as Polygon).coordinates;
  const problems: AreaProblem[] = [];
  rings.forEach((ring, i) => {
    const [first, last] = [ring[0]!, ring[ring.length - 1]!];
    if (first[0] !== last[0] || first[1] !== last[1])
      problems.push({ status: 400, pointer: `/area/coordinates/${i}`, detail: "the ring is not closed: its last position must be its first" });
  });
  if (problems.length) return { problems };
  const feature = turfPolygon(rings as number[][][]);
  const crossings = kinks(feature).features;
  if (crossings.length) {
    const at = crossings[0]!.geometry.coordinates.map((c) => Number(c.toFixed(6)));
    return {
      problems: [{ status: 422, pointer: "/area", detail: `the polygon crosses itself (at ${at.join(", ")}): a flight area must be a simple polygon` }],
    };
  }
  const rewound = rewind(feature, { reverse: false }) as PolygonFeature;
  return { polygon: { type: "Polygon", coordinates: rewound.geometry.coordinates as Polygon["coordinates"] } };
}

const boxesMeet = (a: BBox, b: BBox) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];

/** Whether two shapes intersect, touching edges included. */
export function intersects(a: Shape, b: Shape): boolean {
  return boxesMeet(a.box, b.box) && booleanIntersects(a.feature, b.feature);
}

/** The place's shape grown by `metres` (0: itself), for "within a radius of" questions. */
export function grown(place: Shape, metres: number): Shape {
  if (metres <= 0) return place;
  const made = buffer(place.feature, metres / 1000, { units: "kilometers" }) as PolygonFeature | undefined;
  if (!made) return place;
  return { feature: made, box: bbox(made) as BBox };
}
