import { test } from "node:test";
import assert from "node:assert/strict";
import { isResidentId, residentIdCheckChar, residentIdBirthDate, isE164Phone } from "../../contracts/formats";

test("resident id check character follows ISO 7064 MOD 11-2", () => {
  // Worked example from GB 11643-1999 annex: 11010519491231002 -> X
  assert.equal(residentIdCheckChar("11010519491231002"), "X");
  assert.equal(isResidentId("11010519491231002X"), true);
  assert.equal(isResidentId("110105194912310021"), false, "wrong check character");
  assert.equal(isResidentId("11010519491231002x"), false, "lower-case x is not the check character");
  assert.equal(isResidentId("11010519491331002X"), false, "month 13");
  assert.equal(isResidentId("1101051949123100"), false, "too short");
});

test("every single-digit change of a valid id is detected", () => {
  const id = "11010519491231002X";
  for (let i = 0; i < 17; i++)
    for (let d = 0; d <= 9; d++) {
      const changed = id.slice(0, i) + d + id.slice(i + 1);
      if (changed !== id) assert.equal(isResidentId(changed), false, changed);
    }
});

test("birth date is read from the id and must exist", () => {
  assert.equal(residentIdBirthDate("11010519491231002X"), "1949-12-31");
  assert.equal(residentIdBirthDate("110105" + "20230229" + "0011"), undefined);
});

test("phone numbers are E.164", () => {
  assert.equal(isE164Phone("+8613800138000"), true);
  assert.equal(isE164Phone("13800138000"), false);
  assert.equal(isE164Phone("+0123456789"), false);
});
