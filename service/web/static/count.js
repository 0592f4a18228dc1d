/*! Comment counts for listing pages: <script src="https://comments.example/count.js" async></script> fills every
 * [data-comment-count-for="article-id"] element with one request per 100 articles. Documentation: docs/widget.md. */
(() => {
  "use strict";

  const WORDS = {
    vi: { locale: "vi-VN", zero: "Chưa có bình luận", one: "{n} bình luận", other: "{n} bình luận" },
    en: { locale: "en-GB", zero: "No comments", one: "{n} comment", other: "{n} comments" },
  };
  const ARTICLE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$/; // the API's rule: one bad id would refuse the batch
  const CHUNK = 100; // the API's limit per request

  const script = document.currentScript || document.querySelector('script[src*="/count.js"]');
  if (!script) return;
  const base = new URL(".", script.src);

  const words = (element) => {
    const page = element.closest("[lang]") || document.documentElement;
    const tag = (script.dataset.lang || page.lang || "vi").toLowerCase();
    return tag.startsWith("en") ? WORDS.en : WORDS.vi;
  };

  const label = (element, count) => {
    const catalogue = words(element);
    const number = new Intl.NumberFormat(catalogue.locale).format(count);
    if (element.dataset.commentCountFormat === "number") return number;
    const form = count === 0 ? "zero" : new Intl.PluralRules(catalogue.locale).select(count);
    return (catalogue[form] || catalogue.other).replace("{n}", number);
  };

  const fill = async (root = document) => {
    const wanted = new Map();
    for (const element of root.querySelectorAll("[data-comment-count-for]")) {
      const id = element.dataset.commentCountFor.trim();
      if (!ARTICLE_ID.test(id)) continue;
      if (!wanted.has(id)) wanted.set(id, []);
      wanted.get(id).push(element);
    }
    const ids = [...wanted.keys()];
    const requests = [];
    for (let start = 0; start < ids.length; start += CHUNK) {
      const url = new URL("api/v1/counts", base);
      for (const id of ids.slice(start, start + CHUNK)) url.searchParams.append("article_id", id);
      requests.push(
        fetch(url, { credentials: "omit" })
          .then((response) => (response.ok ? response.json() : { counts: {} }))
          .then(({ counts }) => {
            for (const [id, count] of Object.entries(counts || {})) {
              for (const element of wanted.get(id) || []) {
                element.textContent = label(element, count); // text only, never HTML
                element.dataset.commentCount = String(count);
              }
            }
          })
          .catch(() => {}), // counts are decoration: a failure leaves the page's own text
      );
    }
    await Promise.all(requests);
  };

  const namespace = (window.CommentsWidget = window.CommentsWidget || {});
  namespace.counts = fill;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => fill(), { once: true });
  else fill();
})();
