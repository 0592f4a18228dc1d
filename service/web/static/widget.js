/*! Comments widget. Embed: <script src="https://comments.example/widget.js" data-article-id="…" async></script>
 * Plain JavaScript, no dependencies, no build step. Documentation: docs/widget.md.
 * Rule of this file: text from readers or the API is only ever written with textContent (or as Text nodes). */
(() => {
  "use strict";

  // --- every visible or spoken string, one catalogue per language ------------------------------------------------
  const CATALOGUE = {
    vi: {
      locale: "vi-VN",
      heading: "Bình luận ({n})",
      formTitle: "Viết bình luận",
      requiredNote: "Các mục có dấu * là bắt buộc.",
      author_name: "Họ và tên",
      phone: "Số điện thoại",
      title: "Tiêu đề",
      body: "Nội dung",
      captcha_answer: "Mã bảo mật",
      website: "Trang web (để trống)",
      phoneHint: "Không bắt buộc. Chỉ ban biên tập nhìn thấy, không bao giờ được công khai.",
      bodyHint: "Tối đa {max} ký tự.",
      captchaHint: "Nhập các ký tự trong hình, không phân biệt chữ hoa, chữ thường.",
      captchaAlt: "Mã bảo mật dạng hình: các ký tự cần nhập vào ô bên dưới",
      captchaLoading: "Đang tải mã bảo mật…",
      captchaFailed: "Không tải được mã bảo mật. Bấm “Lấy lại mã bảo mật” để thử lại.",
      listen: "Nghe mã bảo mật",
      renew: "Lấy lại mã bảo mật",
      renewed: "Đã có mã bảo mật mới. Nội dung bạn nhập vẫn được giữ nguyên.",
      expired: "Mã bảo mật cũ đã hết hạn nên đã được thay bằng mã mới.",
      audioFailed: "Trình duyệt không phát được âm thanh mã bảo mật.",
      submit: "Gửi bình luận",
      sending: "Đang gửi bình luận…",
      checkFields: "Vui lòng kiểm tra lại các mục được đánh dấu.",
      captchaWrong: "Mã bảo mật không đúng hoặc đã hết hạn. Vui lòng nhập mã trong hình mới.",
      rateLimited: "Bạn gửi hơi nhanh. Vui lòng thử lại sau {n} giây.",
      network: "Không kết nối được máy chủ bình luận. Nội dung bạn nhập vẫn được giữ nguyên, vui lòng thử lại.",
      server: "Máy chủ bình luận đang gặp sự cố. Nội dung bạn nhập vẫn được giữ nguyên, vui lòng thử lại sau.",
      retrying: "Máy chủ bình luận đang bận. Bình luận sẽ được tự động gửi lại sau {n} giây…",
      unavailable: "Máy chủ bình luận tạm thời không phản hồi. Nội dung bạn nhập vẫn được giữ nguyên, vui lòng gửi lại sau ít phút.",
      tooLarge: "Bình luận quá dài để gửi.",
      closed: "Bài viết này đã đóng bình luận.",
      pendingTitle: "Bình luận của bạn đang chờ duyệt",
      pendingText: "Cảm ơn bạn! Bình luận sẽ hiển thị sau khi được ban biên tập duyệt.",
      publishedTitle: "Bình luận của bạn đã được đăng",
      publishedText: "Cảm ơn bạn đã tham gia thảo luận.",
      another: "Viết bình luận khác",
      reply: "Trả lời",
      replyTo: "Trả lời bình luận của {name}",
      replying: "Trả lời {name}",
      cancelReply: "Hủy trả lời",
      replyGone: "Bình luận bạn muốn trả lời không còn hiển thị.",
      sortLabel: "Sắp xếp bình luận",
      newest: "Mới nhất",
      oldest: "Cũ nhất",
      more: "Xem thêm bình luận ({n})",
      loading: "Đang tải bình luận…",
      loadedMore: "Đã tải thêm {n} bình luận.",
      listFailed: "Không tải được bình luận.",
      retry: "Thử lại",
      empty: "Chưa có bình luận nào. Hãy là người đầu tiên bình luận!",
      justNow: "vừa xong",
      errors: {
        required: "Vui lòng điền mục này.",
        "author_name.required": "Vui lòng nhập họ và tên.",
        "title.required": "Vui lòng nhập tiêu đề.",
        "body.required": "Vui lòng nhập nội dung bình luận.",
        "captcha_answer.required": "Vui lòng nhập mã bảo mật.",
        too_long: "Quá dài: tối đa {max} ký tự.",
        "phone.too_long": "Số điện thoại quá dài.",
        "phone.too_short": "Số điện thoại quá ngắn.",
        invalid_phone: "Số điện thoại không hợp lệ. Ví dụ: 0912 345 678.",
        obsolete_prefix: "Số 11 chữ số (đầu 01x) đã chuyển sang 10 chữ số từ năm 2018. Vui lòng nhập số mới.",
        invalid_characters: "Có ký tự không được phép.",
        must_be_empty: "Vui lòng để trống mục này.",
        not_found: "Bình luận bạn muốn trả lời không còn hiển thị.",
        not_published: "Bình luận bạn muốn trả lời không còn hiển thị.",
        too_deep: "Chỉ có thể trả lời bình luận gốc.",
        invalid: "Giá trị không hợp lệ.",
      },
    },
    en: {
      locale: "en-GB",
      heading: "Comments ({n})",
      formTitle: "Write a comment",
      requiredNote: "Fields marked * are required.",
      author_name: "Full name",
      phone: "Phone number",
      title: "Title",
      body: "Comment",
      captcha_answer: "Security code",
      website: "Website (leave empty)",
      phoneHint: "Optional. Only the editors see it; it is never published.",
      bodyHint: "At most {max} characters.",
      captchaHint: "Type the characters in the picture; upper or lower case does not matter.",
      captchaAlt: "Security code picture: the characters to type in the box below",
      captchaLoading: "Loading the security code…",
      captchaFailed: "The security code could not be loaded. Press “Get a new code” to try again.",
      listen: "Listen to the code",
      renew: "Get a new code",
      renewed: "Here is a new security code. What you typed is kept.",
      expired: "The security code expired, so it was replaced with a new one.",
      audioFailed: "This browser could not play the audio code.",
      submit: "Post comment",
      sending: "Sending your comment…",
      checkFields: "Please check the highlighted fields.",
      captchaWrong: "The security code was wrong or has expired. Please type the code in the new picture.",
      rateLimited: "You are sending too quickly. Please try again in {n} seconds.",
      network: "The comments server could not be reached. What you typed is kept; please try again.",
      server: "The comments server has a problem. What you typed is kept; please try again later.",
      retrying: "The comments server is busy. Your comment will be sent again in {n} seconds…",
      unavailable: "The comments server is not answering for now. What you typed is kept; please send it again in a few minutes.",
      tooLarge: "The comment is too long to send.",
      closed: "Comments are closed for this article.",
      pendingTitle: "Your comment is awaiting moderation",
      pendingText: "Thank you! It will appear once an editor has approved it.",
      publishedTitle: "Your comment has been published",
      publishedText: "Thank you for joining the conversation.",
      another: "Write another comment",
      reply: "Reply",
      replyTo: "Reply to {name}",
      replying: "Replying to {name}",
      cancelReply: "Cancel reply",
      replyGone: "The comment you are replying to is no longer shown.",
      sortLabel: "Sort comments",
      newest: "Newest",
      oldest: "Oldest",
      more: "Load more comments ({n})",
      loading: "Loading comments…",
      loadedMore: "{n} more comments loaded.",
      listFailed: "The comments could not be loaded.",
      retry: "Try again",
      empty: "No comments yet. Be the first to comment!",
      justNow: "just now",
      errors: {
        required: "Please fill in this field.",
        "author_name.required": "Please enter your full name.",
        "title.required": "Please enter a title.",
        "body.required": "Please write your comment.",
        "captcha_answer.required": "Please type the security code.",
        too_long: "Too long: at most {max} characters.",
        "phone.too_long": "The phone number is too long.",
        "phone.too_short": "The phone number is too short.",
        invalid_phone: "This is not a valid phone number. Example: 0912 345 678.",
        obsolete_prefix: "11-digit numbers (01x) changed to 10 digits in 2018. Please enter the new number.",
        invalid_characters: "This contains characters that are not allowed.",
        must_be_empty: "Please leave this field empty.",
        not_found: "The comment you are replying to is no longer shown.",
        not_published: "The comment you are replying to is no longer shown.",
        too_deep: "Only top-level comments can be replied to.",
        invalid: "This value is not valid.",
      },
    },
  };

  const LIMITS = { author_name: 80, title: 150, body: 5000 };
  const FIELDS = ["author_name", "phone", "title", "body", "captcha_answer"];
  const PER_PAGE = 20;
  const SEND_ATTEMPTS = 3; // one send and two retries while the server answers 503

  const STYLE = `
:host{display:block}
.w{all:initial;display:block;
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif;
color:var(--cw-ink,#1a1a1a);background:var(--cw-bg,#fff);text-align:left;overflow-wrap:anywhere;
--a:var(--cw-accent,#9f224e);--muted:#555;--line:#d4d4d4;--soft:#f6f6f6;--err:#b3261e;--focus:var(--cw-focus,#1a5fb4)}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
h2{font-size:1.375em;line-height:1.3;margin:.75em 0 .5em}
h3{font-size:1.125em;line-height:1.35;margin:0 0 .5em}
p{margin:0}
.box{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:16px;margin:0 0 20px}
.box:focus{outline:3px solid var(--focus);outline-offset:2px}
.note,.hint{color:var(--muted);font-size:.875em}
.note{margin:0 0 12px}
.f{margin:0 0 16px}
label{display:block;font-weight:600;margin:0 0 4px}
.req{color:var(--err);margin-left:3px}
input,textarea{display:block;width:100%;margin:0;font:inherit;color:inherit;background:#fff;border:1px solid #6f6f6f;
border-radius:6px;padding:9px 12px;min-height:44px}
textarea{min-height:9em;resize:vertical}
input:focus,textarea:focus,button:focus-visible,.c:focus{outline:3px solid var(--focus);outline-offset:1px}
[aria-invalid=true]{border:2px solid var(--err)}
.hint{display:block;margin:4px 0 0}
.err{color:var(--err);font-weight:600;font-size:.9375em;margin:4px 0 0}
.err:empty,.msg:empty{display:none}
.count{float:right}
.count.over{color:var(--err);font-weight:600}
.cap-row{display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;margin:0 0 8px}
.cap-img{display:block;width:200px;height:70px;max-width:100%;background:#fff;border:1px solid var(--line);
border-radius:6px;font-size:.8125em;color:var(--muted);object-fit:contain}
.cap-act{display:flex;flex-direction:column;align-items:flex-start;gap:2px}
#f-captcha_answer{max-width:14em;text-transform:uppercase;letter-spacing:.12em}
button{font:inherit;cursor:pointer;border-radius:6px;min-height:44px}
.primary{background:var(--a);color:#fff;border:2px solid var(--a);padding:8px 22px;font-weight:700}
.primary[aria-disabled=true]{opacity:.75;cursor:progress}
.secondary{background:#fff;color:var(--a);border:1px solid var(--a);padding:6px 16px;font-weight:600}
.link{background:none;border:0;color:var(--a);text-decoration:underline;padding:4px 2px;min-height:36px;text-align:left}
.hp{position:absolute!important;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;
border:0}
.msg{margin:0 0 12px;padding:10px 12px;background:#fff;border-left:4px solid var(--a);border-radius:4px}
.msg.bad{border-left-color:var(--err);color:var(--err);font-weight:600}
.replying{display:flex;flex-wrap:wrap;align-items:center;gap:4px 12px;margin:0 0 12px;padding:6px 12px;background:#fff;
border-left:4px solid var(--a);border-radius:4px;font-weight:600}
.receipt h3{color:var(--a)}
.receipt p{margin:0 0 12px}
.bar{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin:0 0 8px}
.bar span{color:var(--muted);font-size:.875em}
.bar button{background:#fff;color:var(--a);border:1px solid var(--a);padding:4px 14px;min-height:36px}
.bar button[aria-pressed=true]{background:var(--a);color:#fff}
ol{list-style:none;margin:0;padding:0}
.c{border-top:1px solid var(--line);padding:12px 0}
.replies{margin:8px 0 0 14px;padding-left:12px;border-left:3px solid var(--line)}
.replies .c{border-top:0;padding:6px 0}
.meta{display:flex;flex-wrap:wrap;align-items:baseline;gap:0 10px}
.name{font-weight:700}
time{color:var(--muted);font-size:.875em}
.c h3,.c h4{font-size:1em;margin:2px 0}
.body{white-space:pre-wrap}
.c .link{font-size:.9375em}
.empty{color:var(--muted);font-style:italic;padding:8px 0}
.more{width:100%;margin:12px 0 0}
`;

  // --- small helpers -----------------------------------------------------------------------------------------------
  const format = (template, values) =>
    template.replace(/\{(\w+)\}/g, (all, key) => (key in values ? values[key] : all));

  /** An element; string children become Text nodes (never parsed as HTML). */
  const h = (tag, attributes, ...children) => {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") element.textContent = value;
      else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
    return element;
  };

  const clean = (value) => value.normalize("NFC").trim();
  const length = (value) => [...clean(value)].length;
  const randomKey = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
  // The API sends microseconds; Date.parse is only specified for milliseconds.
  const parseTime = (iso) => new Date(String(iso).replace(/(\.\d{3})\d+/, "$1"));

  const RELATIVE_UNITS = [
    ["year", 31536000],
    ["month", 2592000],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];

  // --- one widget ------------------------------------------------------------------------------------------------
  class Widget {
    constructor(host, { articleId, lang, base }) {
      this.t = CATALOGUE[lang] || CATALOGUE.vi;
      this.articleId = articleId;
      this.base = base;
      this.order = "newest";
      this.challenge = null;
      this.replyTo = null;
      this.key = null;
      this.keyFor = null;
      this.busy = false;
      this.waitUntil = 0;
      this.captchaSeq = 0;
      this.dates = new Intl.DateTimeFormat(this.t.locale, { dateStyle: "medium", timeStyle: "short" });
      this.relative = new Intl.RelativeTimeFormat(this.t.locale, { numeric: "auto" });
      this.numbers = new Intl.NumberFormat(this.t.locale);
      this.root = host.shadowRoot || host.attachShadow({ mode: "open" });
      const constructable = typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype;
      if (constructable && "adoptedStyleSheets" in this.root) {
        // A constructed sheet: not subject to the host page's style-src CSP (an inline <style> would be).
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
        this.root.adoptedStyleSheets = [sheet];
      } else {
        this.root.append(h("style", { text: STYLE }));
      }
      this.build();
      this.resetList();
      this.loadPage();
      this.whenSeen(() => this.challenge || this.renewCaptcha());
    }

    api(path) {
      return new URL("api/v1/" + path, this.base).href;
    }

    absolute(url) {
      return new URL(url, this.base).href;
    }

    // --- structure ---------------------------------------------------------------------------------------------
    build() {
      const t = this.t;
      this.heading = h("h2", { id: "cw-heading", text: format(t.heading, { n: "…" }) });
      this.status = h("div", { class: "sr", role: "status", "aria-live": "polite" });
      this.inputs = {};
      this.errors = {};

      this.replyName = h("span");
      this.replyBox = h(
        "p",
        { class: "replying", hidden: true },
        this.replyName,
        h("button", { type: "button", class: "link", onclick: () => this.cancelReply(true), text: t.cancelReply }),
      );
      this.message = h("p", { class: "msg", role: "status", "aria-live": "polite" });
      this.image = h("img", { class: "cap-img", alt: t.captchaLoading, width: "200", height: "70", decoding: "async" });
      this.submitButton = h("button", { type: "submit", class: "primary", text: t.submit });
      this.counter = h("span", { class: "count", "aria-hidden": "true" });
      this.honeypot = h("input", { name: "website", id: "f-website", tabindex: "-1", autocomplete: "off" });

      this.form = h(
        "form",
        { class: "box", novalidate: true, "aria-labelledby": "cw-form-title", onsubmit: (event) => this.submit(event) },
        h("h3", { id: "cw-form-title", text: t.formTitle }),
        h("p", { class: "note", text: t.requiredNote }),
        this.replyBox,
        this.field("author_name", { required: true, autocomplete: "name" }),
        this.field("phone", { type: "tel", autocomplete: "tel", inputmode: "tel", hint: t.phoneHint }),
        this.field("title", { required: true, autocomplete: "off" }),
        this.field("body", {
          required: true,
          multiline: true,
          hint: format(t.bodyHint, { max: this.numbers.format(LIMITS.body) }),
        }),
        // The honeypot: off screen, out of the tab order, hidden from screen readers; only bots fill it in.
        h(
          "div",
          { class: "hp", "aria-hidden": "true" },
          h("label", { for: "f-website", text: t.website }),
          this.honeypot,
        ),
        this.captchaField(),
        this.message,
        this.submitButton,
      );
      this.inputs.body.addEventListener("input", () => this.count());
      this.form.addEventListener("input", (event) => this.clearError(event.target.name));

      this.receiptTitle = h("h3");
      this.receiptText = h("p");
      this.receipt = h(
        "div",
        { class: "box receipt", tabindex: "-1", hidden: true },
        this.receiptTitle,
        this.receiptText,
        h("button", { type: "button", class: "secondary", onclick: () => this.writeAnother(), text: t.another }),
      );
      this.closedNote = h("p", { class: "box", tabindex: "-1", hidden: true, text: t.closed });

      this.sortButtons = {};
      const sortBar = h(
        "div",
        { class: "bar", role: "group", "aria-label": t.sortLabel },
        h("span", { "aria-hidden": "true", text: t.sortLabel + ":" }),
      );
      for (const order of ["newest", "oldest"]) {
        const pressed = String(order === this.order);
        const button = h("button", { type: "button", "aria-pressed": pressed, text: t[order] });
        button.addEventListener("click", () => this.sort(order));
        this.sortButtons[order] = button;
        sortBar.append(button);
      }
      this.list = h("ol", { class: "thread", "aria-labelledby": "cw-heading" });
      this.emptyNote = h("p", { class: "empty", hidden: true, text: t.empty });
      this.listError = h("p", { class: "msg bad", hidden: true, text: t.listFailed });
      this.moreButton = h("button", { type: "button", class: "secondary more", hidden: true });
      this.moreButton.addEventListener("click", () => this.loadPage());

      this.root.append(
        h(
          "section",
          { class: "w", lang: this.t === CATALOGUE.en ? "en" : "vi", "aria-labelledby": "cw-heading" },
          this.heading,
          this.form,
          this.receipt,
          this.closedNote,
          this.status,
          sortBar,
          this.list,
          this.emptyNote,
          this.listError,
          this.moreButton,
        ),
      );
      this.count();
    }

    field(name, options) {
      const { type = "text", required = false, multiline = false } = options;
      const { hint = null, autocomplete = null, inputmode = null } = options;
      const id = "f-" + name;
      const described = [hint ? id + "-hint" : null, id + "-error"].filter(Boolean).join(" ");
      const input = h(multiline ? "textarea" : "input", {
        id,
        name,
        type: multiline ? null : type,
        required,
        autocomplete,
        inputmode,
        rows: multiline ? "6" : null,
        "aria-describedby": described,
      });
      this.inputs[name] = input;
      this.errors[name] = h("p", { class: "err", id: id + "-error" });
      return h(
        "div",
        { class: "f" },
        h("label", { for: id }, this.t[name], required ? this.requiredMark() : null),
        input,
        hint ? h("span", { class: "hint", id: id + "-hint" }, name === "body" ? this.counter : null, hint) : null,
        this.errors[name],
      );
    }

    requiredMark() {
      // Seen, not spoken: the input's `required` already tells assistive technology.
      return h("span", { class: "req", "aria-hidden": "true", text: "*" });
    }

    captchaField() {
      const t = this.t;
      const id = "f-captcha_answer";
      const input = h("input", {
        id,
        name: "captcha_answer",
        type: "text",
        required: true,
        autocomplete: "off",
        autocapitalize: "characters",
        spellcheck: "false",
        "aria-describedby": id + "-hint " + id + "-error",
      });
      this.inputs.captcha_answer = input;
      this.errors.captcha_answer = h("p", { class: "err", id: id + "-error" });
      return h(
        "div",
        { class: "f" },
        h("label", { for: id }, t.captcha_answer, this.requiredMark()),
        h(
          "div",
          { class: "cap-row" },
          this.image,
          h(
            "div",
            { class: "cap-act" },
            h("button", { type: "button", class: "link", onclick: () => this.listen(), text: t.listen }),
            h("button", { type: "button", class: "link", onclick: () => this.renewCaptcha(t.renewed), text: t.renew }),
          ),
        ),
        input,
        h("span", { class: "hint", id: id + "-hint", text: t.captchaHint }),
        this.errors.captcha_answer,
      );
    }

    whenSeen(callback) {
      // A challenge is a database row: ask for one only when the form comes near the screen or gets focus.
      let done = false;
      const once = () => {
        if (!done) {
          done = true;
          callback();
        }
      };
      this.form.addEventListener("focusin", once);
      if ("IntersectionObserver" in window) {
        const observer = new IntersectionObserver((entries) => {
          if (entries.some((entry) => entry.isIntersecting)) {
            observer.disconnect();
            once();
          }
        }, { rootMargin: "300px" });
        observer.observe(this.form);
      } else {
        once();
      }
    }

    say(text) {
      // Clear first so that the same sentence twice is announced twice.
      this.status.textContent = "";
      setTimeout(() => {
        this.status.textContent = text;
      }, 50);
    }

    count() {
      const used = length(this.inputs.body.value);
      this.counter.textContent = this.numbers.format(used) + "/" + this.numbers.format(LIMITS.body);
      this.counter.classList.toggle("over", used > LIMITS.body);
    }

    // --- CAPTCHA -----------------------------------------------------------------------------------------------
    async renewCaptcha(announcement) {
      const seq = ++this.captchaSeq;
      clearTimeout(this.expiryTimer);
      this.stopAudio();
      try {
        const response = await fetch(this.api("captchas"), { method: "POST", credentials: "omit" });
        if (!response.ok) throw new Error(String(response.status));
        const challenge = await response.json();
        if (seq !== this.captchaSeq) return;
        this.challenge = challenge;
        this.image.alt = this.t.captchaAlt;
        this.image.src = this.absolute(challenge.image_url);
        this.inputs.captcha_answer.value = "";
        const lifetime = Date.parse(challenge.expires_at) - Date.now();
        this.expiryTimer = setTimeout(() => this.expire(), Math.min(Math.max(lifetime - 5000, 30000), 600000));
        if (announcement) this.say(announcement);
      } catch {
        if (seq !== this.captchaSeq) return;
        this.challenge = null;
        this.image.removeAttribute("src");
        this.image.alt = this.t.captchaFailed;
        this.say(this.t.captchaFailed);
      }
    }

    expire() {
      // Replace a stale code only while nobody is typing one; a typed stale code gets a new one on submit.
      if (!this.busy && !this.inputs.captcha_answer.value && !this.form.hidden) this.renewCaptcha(this.t.expired);
    }

    listen() {
      if (!this.challenge) return this.renewCaptcha();
      this.stopAudio();
      this.audio = new Audio(this.absolute(this.challenge.audio_url));
      this.audio.play().catch(() => this.say(this.t.audioFailed));
    }

    stopAudio() {
      if (this.audio) this.audio.pause();
      this.audio = null;
    }

    // --- errors ------------------------------------------------------------------------------------------------
    errorText(field, code) {
      const errors = this.t.errors;
      const text = errors[field + "." + code] || errors[code] || errors.invalid;
      return format(text, { max: this.numbers.format(LIMITS[field] || 0) });
    }

    setError(field, code) {
      const input = this.inputs[field];
      if (!input) return false;
      input.setAttribute("aria-invalid", "true");
      this.errors[field].textContent = this.errorText(field, code);
      return true;
    }

    clearError(field) {
      if (!this.inputs[field]) return;
      this.inputs[field].removeAttribute("aria-invalid");
      this.errors[field].textContent = "";
    }

    showErrors(fields) {
      for (const name of FIELDS) this.clearError(name);
      let first = null;
      for (const name of FIELDS) if (fields[name] && this.setError(name, fields[name]) && !first) first = name;
      this.note(this.t.checkFields, true);
      if (first) this.inputs[first].focus();
    }

    note(text, bad) {
      this.message.textContent = text || "";
      this.message.classList.toggle("bad", Boolean(bad));
    }

    validate() {
      const fields = {};
      for (const name of ["author_name", "title", "body"]) {
        const used = length(this.inputs[name].value);
        if (!used) fields[name] = "required";
        else if (used > LIMITS[name]) fields[name] = "too_long";
      }
      if (!clean(this.inputs.captcha_answer.value)) fields.captcha_answer = "required";
      return fields;
    }

    // --- submitting --------------------------------------------------------------------------------------------
    async submit(event) {
      event.preventDefault();
      if (this.busy) return; // a double click sends once; the Idempotency-Key covers the rest
      const t = this.t;
      const wait = Math.ceil((this.waitUntil - Date.now()) / 1000);
      if (wait > 0) return this.note(format(t.rateLimited, { n: wait }), true);
      const invalid = this.validate();
      if (Object.keys(invalid).length) return this.showErrors(invalid);
      if (!this.challenge) {
        // No code on screen (it failed to load): fetch one; the reader types it and sends again.
        await this.renewCaptcha();
        if (this.challenge) this.setError("captcha_answer", "required");
        return this.inputs.captcha_answer.focus();
      }
      const value = (name) => this.inputs[name].value;
      const payload = {
        author_name: value("author_name"),
        title: value("title"),
        body: value("body"),
        captcha_id: this.challenge.id,
        captcha_answer: value("captcha_answer"),
        website: this.honeypot.value,
      };
      if (value("phone").trim()) payload.phone = value("phone");
      if (this.replyTo) payload.parent_id = this.replyTo.id;
      // One key per composed comment: the same text sent again (a retry, a corrected code) keeps its key.
      const { author_name, phone, title, body, parent_id } = payload;
      const composed = JSON.stringify([author_name, phone, title, body, parent_id]);
      if (composed !== this.keyFor) {
        this.key = randomKey();
        this.keyFor = composed;
      }
      this.setBusy(true);
      this.note(t.sending, false);
      let response = null;
      let answer = null;
      // A 503 (the database is restarting) is retried on its own, after the Retry-After the server asked for: the
      // same Idempotency-Key makes a retry of a comment that did land answer what the first send did. A lost
      // connection is left to the reader (the message says the text is kept), as before.
      for (let attempt = 1; ; attempt++) {
        response = null;
        try {
          response = await fetch(this.api("articles/" + encodeURIComponent(this.articleId) + "/comments"), {
            method: "POST",
            credentials: "omit",
            headers: { "Content-Type": "application/json", "Idempotency-Key": this.key },
            body: JSON.stringify(payload),
          });
          answer = await response.json().catch(() => null);
        } catch {
          answer = null;
        }
        if (!response || response.status !== 503 || attempt >= SEND_ATTEMPTS) break;
        const hinted = parseInt(response.headers.get("Retry-After") || "", 10);
        const seconds = Math.min(Math.max(hinted || attempt * 2, 1), 10);
        this.note(format(t.retrying, { n: seconds }), false);
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      }
      this.setBusy(false);
      if (!response) return this.note(t.network, true);
      if (response.status === 503) return this.note(t.unavailable, true);
      const error = (answer && answer.error) || {};
      if (response.status === 202 && answer) return this.accepted(answer, payload);
      if (response.status === 409 && error.code === "article_closed") return this.showClosed(true);
      if (response.status === 429) {
        const seconds = parseInt(response.headers.get("Retry-After") || "", 10) || 30;
        this.waitUntil = Date.now() + seconds * 1000;
        return this.note(format(t.rateLimited, { n: seconds }), true);
      }
      if (response.status === 422 && error.code === "captcha_invalid") return this.wrongCode();
      if (response.status === 422 && error.fields) return this.fieldErrors(error.fields);
      if (response.status === 413) return this.note(t.tooLarge, true);
      this.note(t.server, true);
    }

    setBusy(busy) {
      this.busy = busy;
      // aria-disabled, not disabled: the button keeps the keyboard focus while the request runs.
      if (busy) this.submitButton.setAttribute("aria-disabled", "true");
      else this.submitButton.removeAttribute("aria-disabled");
      this.submitButton.textContent = busy ? this.t.sending : this.t.submit;
    }

    async wrongCode() {
      // The wrong attempt used the challenge up: a new one, everything else as typed.
      await this.renewCaptcha();
      for (const name of FIELDS) this.clearError(name);
      this.setError("captcha_answer", "invalid");
      this.errors.captcha_answer.textContent = this.t.captchaWrong;
      this.note(this.t.captchaWrong, true);
      this.inputs.captcha_answer.focus();
    }

    fieldErrors(fields) {
      const parent = fields.parent_id;
      if (parent || fields.captcha_id) {
        // The reply target is checked after the code, so that code is used up too.
        this.renewCaptcha();
      }
      if (fields.captcha_id) fields = { ...fields, captcha_answer: "required" };
      if (FIELDS.some((name) => fields[name])) this.showErrors(fields);
      if (parent) {
        this.cancelReply(false);
        this.note(this.errorText("parent_id", parent), true);
        if (!FIELDS.some((name) => fields[name])) this.focusFirstEmpty();
      } else if (!FIELDS.some((name) => fields[name])) {
        this.note(this.errorText("", Object.values(fields)[0] || "invalid"), true);
      }
    }

    accepted(answer, sent) {
      const published = answer.status === "published";
      if (published) {
        this.place(
          {
            id: answer.id,
            parent_id: sent.parent_id || null,
            author_name: clean(sent.author_name),
            title: clean(sent.title),
            body: sent.body.normalize("NFC").trim(),
            published_at: new Date().toISOString(),
          },
          true,
        );
        this.total += 1;
        this.showTotal();
      }
      this.key = this.keyFor = null;
      this.challenge = null;
      clearTimeout(this.expiryTimer);
      for (const name of ["title", "body", "captcha_answer"]) this.inputs[name].value = "";
      this.count();
      this.cancelReply(false);
      this.note("");
      this.receiptTitle.textContent = published ? this.t.publishedTitle : this.t.pendingTitle;
      this.receiptText.textContent = published ? this.t.publishedText : this.t.pendingText;
      this.form.hidden = true;
      this.receipt.hidden = false;
      this.receipt.focus();
      this.say(this.receiptTitle.textContent);
    }

    writeAnother(focus = true) {
      this.receipt.hidden = true;
      this.form.hidden = false;
      if (!this.challenge) this.renewCaptcha();
      if (focus) this.focusFirstEmpty();
    }

    focusFirstEmpty() {
      const name = ["author_name", "title", "body"].find((field) => !clean(this.inputs[field].value)) || "body";
      this.inputs[name].focus();
    }

    showClosed(focus) {
      this.form.hidden = true;
      this.receipt.hidden = true;
      this.closedNote.hidden = false;
      for (const button of this.root.querySelectorAll(".c .link")) button.hidden = true;
      if (focus) this.closedNote.focus();
      this.say(this.t.closed);
    }

    // --- replies -----------------------------------------------------------------------------------------------
    startReply(item) {
      if (!this.closedNote.hidden) return;
      this.replyTo = { id: item.id, name: item.author_name };
      this.replyName.textContent = format(this.t.replying, { name: item.author_name });
      this.replyBox.hidden = false;
      if (this.form.hidden) this.writeAnother(false);
      this.form.scrollIntoView({ block: "start", behavior: "smooth" });
      this.focusFirstEmpty();
      this.say(this.replyName.textContent);
    }

    cancelReply(focus) {
      this.replyTo = null;
      this.replyBox.hidden = true;
      this.replyName.textContent = "";
      if (focus) this.focusFirstEmpty();
    }

    // --- the list ----------------------------------------------------------------------------------------------
    resetList() {
      this.listSeq = (this.listSeq || 0) + 1;
      this.page = 0;
      this.total = 0;
      this.loading = false;
      this.roots = new Map();
      this.orphans = new Map();
      this.seen = new Set();
      this.list.replaceChildren();
    }

    sort(order) {
      if (order === this.order) return;
      this.order = order;
      for (const [name, button] of Object.entries(this.sortButtons)) {
        button.setAttribute("aria-pressed", String(name === order));
      }
      this.resetList();
      this.loadPage();
    }

    async loadPage() {
      if (this.loading) return;
      this.loading = true;
      const seq = this.listSeq;
      const page = this.page + 1;
      const moreHadFocus = this.root.activeElement === this.moreButton;
      this.moreButton.textContent = this.t.loading;
      this.moreButton.setAttribute("aria-busy", "true");
      this.listError.hidden = true;
      let data;
      try {
        const query = "?page=" + page + "&per_page=" + PER_PAGE + "&order=" + this.order;
        const url = this.api("articles/" + encodeURIComponent(this.articleId) + "/comments" + query);
        // no-cache: revalidate with the server every time. The list's Cache-Control lets shared caches (a CDN) serve it
        // a little stale, and Chromium applies stale-while-revalidate to its own cache too.
        const response = await fetch(url, { credentials: "omit", cache: "no-cache" });
        if (!response.ok) throw new Error(String(response.status));
        data = await response.json();
      } catch {
        if (seq !== this.listSeq) return;
        this.loading = false;
        this.listError.hidden = false;
        this.moreButton.hidden = false;
        this.moreButton.removeAttribute("aria-busy");
        this.moreButton.textContent = this.t.retry;
        return;
      }
      if (seq !== this.listSeq) return;
      this.loading = false;
      this.page = page;
      this.total = data.total;
      if (data.closed === true) this.showClosed(false);
      let firstNew = null;
      for (const item of data.items) {
        const node = this.place(item, false);
        firstNew = firstNew || node;
      }
      const finished = data.items.length < PER_PAGE || this.seen.size >= this.total;
      if (finished) this.flushOrphans();
      this.showTotal(finished);
      if (page > 1) {
        this.say(format(this.t.loadedMore, { n: data.items.length }));
        const target = firstNew || this.list.lastElementChild;
        if (moreHadFocus && target) target.focus();
      }
    }

    showTotal(finished) {
      this.heading.textContent = format(this.t.heading, { n: this.numbers.format(this.total) });
      this.emptyNote.hidden = this.total > 0 || this.list.children.length > 0;
      const left = this.total - this.seen.size;
      const done = finished === undefined ? this.moreButton.hidden : finished;
      this.moreButton.removeAttribute("aria-busy");
      this.moreButton.hidden = done || left <= 0;
      this.moreButton.textContent = format(this.t.more, { n: this.numbers.format(Math.max(left, 0)) });
    }

    /** Puts one comment in the thread; returns its element when it is shown now. */
    place(item, own) {
      if (this.seen.has(item.id)) return null;
      this.seen.add(item.id);
      if (item.parent_id) {
        const parent = this.roots.get(item.parent_id);
        if (!parent) {
          // A reply comes before its parent in newest-first pages: kept until the parent arrives.
          const waiting = this.orphans.get(item.parent_id) || [];
          waiting.push(item);
          this.orphans.set(item.parent_id, waiting);
          return null;
        }
        return this.addReply(parent, item);
      }
      const node = this.render(item, true);
      this.roots.set(item.id, node);
      if (own && this.order === "newest") this.list.prepend(node);
      else this.list.append(node);
      for (const reply of this.orphans.get(item.id) || []) this.addReply(node, reply);
      this.orphans.delete(item.id);
      return node;
    }

    addReply(parent, item) {
      let replies = parent.querySelector(".replies");
      if (!replies) parent.append((replies = h("ol", { class: "replies" })));
      const node = this.render(item, false);
      // Replies read as a conversation: oldest first under their parent, whatever the page order.
      const later = [...replies.children].find((child) => child.dataset.t > node.dataset.t);
      replies.insertBefore(node, later || null);
      return node;
    }

    flushOrphans() {
      // Replies whose parent is no longer published stay visible on their own rather than lost.
      for (const waiting of this.orphans.values()) {
        for (const item of waiting) this.list.append(this.render(item, false));
      }
      this.orphans.clear();
    }

    render(item, isRoot) {
      const t = this.t;
      const when = parseTime(item.published_at);
      const node = h(
        "li",
        { class: "c", tabindex: "-1", "data-id": item.id, "data-t": when.toISOString() },
        h(
          "article",
          null,
          h(
            "p",
            { class: "meta" },
            h("span", { class: "name", text: item.author_name }),
            h("time", { datetime: when.toISOString(), text: this.ago(when) + " · " + this.dates.format(when) }),
          ),
          h(isRoot ? "h3" : "h4", { class: "title", text: item.title }),
          h("p", { class: "body", text: item.body }),
          isRoot && this.closedNote.hidden
            ? h("button", {
                type: "button",
                class: "link",
                "aria-label": format(t.replyTo, { name: item.author_name }),
                onclick: () => this.startReply(item),
                text: t.reply,
              })
            : null,
        ),
      );
      return node;
    }

    ago(when) {
      const seconds = (when.getTime() - Date.now()) / 1000;
      for (const [unit, size] of RELATIVE_UNITS) {
        if (Math.abs(seconds) >= size) return this.relative.format(Math.round(seconds / size), unit);
      }
      return this.t.justNow;
    }
  }

  // --- finding the script tags and mounting ----------------------------------------------------------------------
  const namespace = (window.CommentsWidget = window.CommentsWidget || {});
  if (!namespace.mount) {
    const mounted = new WeakSet();

    const languageOf = (requested, element) => {
      const tag = (requested || (element.closest("[lang]") || document.documentElement).lang || "vi").toLowerCase();
      return tag.startsWith("en") ? "en" : "vi";
    };

    namespace.mount = (host, options) => {
      if (!options || !options.articleId) {
        console.warn("CommentsWidget: data-article-id is missing, so no widget was shown");
        return null;
      }
      if (mounted.has(host)) return null;
      mounted.add(host);
      const base = options.base || namespace.base || location.href;
      return new Widget(host, { articleId: String(options.articleId), lang: languageOf(options.lang, host), base });
    };

    const containerFor = (script) => {
      const selector = script.dataset.container;
      if (selector) return document.querySelector(selector);
      const before = script.previousElementSibling;
      if (before && before.tagName === "DIV" && !before.childElementCount && !mounted.has(before)) return before;
      const named = document.getElementById("comments");
      if (named && !mounted.has(named) && !named.childElementCount) return named;
      const host = h("div");
      script.after(host);
      return host;
    };

    namespace.scan = (current) => {
      for (const script of document.querySelectorAll("script[src][data-article-id]")) {
        // Tags of this script not run yet (async) are mounted now; their own run then finds them done.
        if (mounted.has(script) || (script !== current && !/\/widget\.js([?#]|$)/.test(script.src))) continue;
        mounted.add(script);
        const base = new URL(".", script.src).href;
        namespace.base = namespace.base || base;
        const host = containerFor(script);
        if (host) namespace.mount(host, { articleId: script.dataset.articleId, lang: script.dataset.lang, base });
      }
    };
  }
  const current = document.currentScript;
  if (current && current.src) namespace.base = namespace.base || new URL(".", current.src).href;
  namespace.scan(current);
})();
