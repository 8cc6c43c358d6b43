/**
 * The catalogue page's own style and script, served as files from this gateway
 * (/catalogue/catalogue.css, /catalogue/catalogue.js), so its CSP allows no inline code.
 * The script filters the listed entries as one types, matching as the server does
 * (catalogue/catalogue-search.ts): every word a substring of the entry's `data-search`
 * text, folded alike; it never builds a RegExp from what was typed.
 */
export const CATALOGUE_JS = `"use strict";
(function () {
  var input = document.getElementById("q");
  var list = document.getElementById("entries");
  var count = document.getElementById("count");
  var none = document.getElementById("none");
  if (!input || !list || !count || !none) return;
  var entries = Array.prototype.slice.call(list.children);
  var fold = function (s) { return s.normalize("NFKC").toLowerCase(); };
  function filter() {
    var words = fold(input.value).split(/\\s+/).filter(Boolean);
    var shown = 0;
    entries.forEach(function (li) {
      var text = li.getAttribute("data-search") || "";
      var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
      li.hidden = !hit;
      if (hit) shown += 1;
    });
    count.textContent = shown === 1 ? "1 entry shown" : shown + " entries shown";
    none.hidden = shown > 0;
  }
  input.addEventListener("input", filter);
  // Searching as one types; the form still works (and is bookmarkable) with Enter.
  filter();
})();
`;

export const CATALOGUE_CSS = `body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem; color: #1b1b1b; line-height: 1.4; }
a { color: #0b57a4; }
form { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: 1rem 0; }
input[type=search] { font-size: 1rem; padding: .4rem; min-width: 20rem; }
button { font-size: 1rem; padding: .4rem .8rem; }
.entries { list-style: none; padding: 0; }
.entry { border: 1px solid #ccc; border-radius: 6px; padding: .5rem 1rem; margin: 0 0 1rem; }
.entry h2 { margin: .3rem 0; font-size: 1.25rem; }
.entry h3 { font-size: 1rem; margin: .6rem 0 .2rem; }
.meta { color: #444; margin: 0; }
.kind { font-size: .8rem; border: 1px solid #888; border-radius: 3px; padding: 0 .3rem; margin-left: .4rem; vertical-align: middle; }
table { border-collapse: collapse; margin: .3rem 0; }
th, td { border: 1px solid #ddd; padding: .2rem .6rem; text-align: left; }
td.no-data { color: #666; font-style: italic; }
code { font-size: .9em; }
`;
