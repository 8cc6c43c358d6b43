/**
 * Synthetic citizens for every agency sandbox: pure and deterministic for a given seed.
 * Names, streets and house numbers are combined from small built-in lists, never taken from
 * real people; area codes and place names are real administrative codes (not personal data),
 * so the identity numbers look like the real format and pass the GB 11643-1999 checksum.
 */
import { residentIdCheckChar } from "../contracts/formats";

/** The deterministic seed data: the same citizens on every fresh database. */
export const SEED = 1;
export const SEED_AS_OF = new Date("2025-01-01T00:00:00Z");

/** A random source returning numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32: a small, fast 32-bit seeded PRNG; the same seed always gives the same sequence. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Sex = "MALE" | "FEMALE";

/** A citizen in the agency's own format (not the hub contract's). */
export interface SyntheticCitizen {
  citizenNo: string;
  fullName: string;
  /** YYYY-MM-DD, equal to positions 7-14 of citizenNo. */
  birthDate: string;
  sex: Sex;
  address: { province: string; city: string; district: string; street: string; postcode: string };
}

export interface SyntheticOptions {
  /** The day ages are counted at. Pass it explicitly: the generator never reads the clock. */
  asOf: Date;
  /** Youngest age in whole years at `asOf` (default 18). */
  minAge?: number;
  /** Oldest age in whole years at `asOf` (default 80, at most 120). */
  maxAge?: number;
}

const AREAS: readonly { code: string; province: string; city: string; district: string; postcode: string }[] = [
  { code: "110105", province: "北京市", city: "北京市", district: "朝阳区", postcode: "100020" },
  { code: "110108", province: "北京市", city: "北京市", district: "海淀区", postcode: "100080" },
  { code: "120101", province: "天津市", city: "天津市", district: "和平区", postcode: "300041" },
  { code: "310104", province: "上海市", city: "上海市", district: "徐汇区", postcode: "200030" },
  { code: "310115", province: "上海市", city: "上海市", district: "浦东新区", postcode: "200120" },
  { code: "320102", province: "江苏省", city: "南京市", district: "玄武区", postcode: "210018" },
  { code: "330106", province: "浙江省", city: "杭州市", district: "西湖区", postcode: "310013" },
  { code: "350102", province: "福建省", city: "福州市", district: "鼓楼区", postcode: "350001" },
  { code: "370102", province: "山东省", city: "济南市", district: "历下区", postcode: "250014" },
  { code: "420106", province: "湖北省", city: "武汉市", district: "武昌区", postcode: "430061" },
  { code: "440106", province: "广东省", city: "广州市", district: "天河区", postcode: "510630" },
  { code: "440305", province: "广东省", city: "深圳市", district: "南山区", postcode: "518052" },
  { code: "500103", province: "重庆市", city: "重庆市", district: "渝中区", postcode: "400010" },
  { code: "510107", province: "四川省", city: "成都市", district: "武侯区", postcode: "610041" },
  { code: "610113", province: "陕西省", city: "西安市", district: "雁塔区", postcode: "710061" },
  { code: "210102", province: "辽宁省", city: "沈阳市", district: "和平区", postcode: "110001" },
];

const SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧";
const GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆";
const GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲桂丹萍红琳雪慧颖倩婷璐瑶佳欣";
const GIVEN_ANY = "文晓子一安思宁嘉雨新天云海春晨";
const STREETS = ["建设路", "人民路", "解放路", "和平街", "中山路", "长江路", "光明街", "新华路", "青年路", "文化路", "朝阳街", "胜利路"];

const DAY_MS = 86_400_000;

const pick = <T>(rng: Rng, list: ArrayLike<T>): T => list[Math.floor(rng() * list.length)]!;
const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));

/** `date` moved by whole calendar years (29 February becomes 1 March when needed). */
function yearsBefore(date: Date, years: number): Date {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d;
}

/** One synthetic citizen, drawn from `rng`. */
export function syntheticCitizen(rng: Rng, opts: SyntheticOptions): SyntheticCitizen {
  const minAge = opts.minAge ?? 18;
  const maxAge = opts.maxAge ?? 80;
  if (!Number.isInteger(minAge) || !Number.isInteger(maxAge) || minAge < 0 || maxAge > 120 || minAge > maxAge)
    throw new RangeError(`age range ${minAge}-${maxAge} must be whole years with 0 <= minAge <= maxAge <= 120`);

  // Aged minAge..maxAge at asOf: born after (asOf - (maxAge + 1) years) and on or before (asOf - minAge years).
  const latest = yearsBefore(opts.asOf, minAge).getTime();
  const earliest = yearsBefore(opts.asOf, maxAge + 1).getTime() + DAY_MS;
  if (new Date(earliest).getUTCFullYear() < 1900) throw new RangeError("identity numbers carry birth dates from 1900 on");
  const birth = new Date(earliest + int(rng, 0, Math.round((latest - earliest) / DAY_MS)) * DAY_MS);
  const birthDate = birth.toISOString().slice(0, 10);

  const sex: Sex = rng() < 0.5 ? "MALE" : "FEMALE";
  const area = pick(rng, AREAS);
  // Sequence 001-999: its last digit is odd for men and even for women.
  const k = int(rng, 0, 498);
  const sequence = String(sex === "MALE" ? 2 * k + 1 : 2 * k + 2).padStart(3, "0");
  const first17 = area.code + birthDate.replaceAll("-", "") + sequence;

  const givenChars = sex === "MALE" ? GIVEN_MALE : GIVEN_FEMALE;
  const twoChars = rng() < 0.7;
  const given = twoChars ? pick(rng, GIVEN_ANY) + pick(rng, givenChars) : pick(rng, givenChars);
  const fullName = pick(rng, SURNAMES) + given;
  const street = `${pick(rng, STREETS)}${int(rng, 1, 399)}号`;

  return {
    citizenNo: first17 + residentIdCheckChar(first17),
    fullName,
    birthDate,
    sex,
    address: { province: area.province, city: area.city, district: area.district, street, postcode: area.postcode },
  };
}

/** `count` citizens with distinct identity numbers, the same list for the same seed and options. */
export function syntheticCitizens(seed: number, count: number, opts: SyntheticOptions): SyntheticCitizen[] {
  const rng = mulberry32(seed);
  const seen = new Set<string>();
  const out: SyntheticCitizen[] = [];
  while (out.length < count) {
    const c = syntheticCitizen(rng, opts);
    if (seen.has(c.citizenNo)) continue;
    seen.add(c.citizenNo);
    out.push(c);
  }
  return out;
}
