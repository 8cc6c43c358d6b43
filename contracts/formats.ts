/**
 * Domain formats checked for real, not by pattern alone. Registered on the Ajv instance
 * (contracts/ajv.ts) under the names the schemas use in `format`.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = "10X98765432";

/** ISO 7064 MOD 11-2 check character over the first 17 digits of a resident identity number. */
export function residentIdCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK_CHARS[sum % 11]!;
}

/** The birth date a resident identity number carries (positions 7-14), or undefined when invalid. */
export function residentIdBirthDate(id: string): string | undefined {
  const y = Number(id.slice(6, 10)),
    m = Number(id.slice(10, 12)),
    d = Number(id.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return id.slice(6, 10) + "-" + id.slice(10, 12) + "-" + id.slice(12, 14);
}

/** GB 11643-1999: 6-digit area code, birth date, 3-digit sequence, MOD 11-2 check character. */
export function isResidentId(value: string): boolean {
  return /^[1-9]\d{5}\d{8}\d{3}[\dX]$/.test(value) && residentIdBirthDate(value) !== undefined && residentIdCheckChar(value.slice(0, 17)) === value[17];
}

/** E.164 international phone number: "+", country code, at most 15 digits in all. */
export function isE164Phone(value: string): boolean {
  return /^\+[1-9]\d{6,14}$/.test(value);
}
