/** The no-fly zones bench:flights loads into the aviation authority's sandbox. */
import type { NoFlyZone } from "../../flights/airspace";

/** Kept clear of the bench's zones: Century Park and around. */
const KEEP_CLEAR = [121.53, 31.2, 121.57, 31.23];
export const PREFIX = "NFZ-BENCH-";

/** `count` squares of 0.004 degrees on a grid over Shanghai (120.9-121.9 E, 30.7-31.5 N), none over Century Park. */
export function benchZones(count: number): NoFlyZone[] {
  const zones: NoFlyZone[] = [];
  const side = Math.ceil(Math.sqrt(count * 1.2));
  for (let i = 0; zones.length < count; i++) {
    const west = 120.9 + (i % side) * (1 / side);
    const south = 30.7 + Math.floor(i / side) * (0.8 / side);
    const [east, north] = [west + 0.004, south + 0.004];
    if (east >= KEEP_CLEAR[0]! && west <= KEEP_CLEAR[2]! && north >= KEEP_CLEAR[1]! && south <= KEEP_CLEAR[3]!) continue;
    const ring: [number, number][] = [
      [west, south],
      [east, south],
      [east, north],
      [west, north],
      [west, south],
    ];
    zones.push({
      zoneId: `${PREFIX}${String(zones.length).padStart(5, "0")}`,
      name: `Bench zone ${zones.length}`,
      kind: "TEMPORARY",
      area: { type: "Polygon", coordinates: [ring] },
    });
  }
  return zones;
}
