// The SMART check as the teacher writes: a moment after they stop typing, the form is sent with "check" (nothing
// is saved) and the advice is replaced. Without JavaScript, the "Check it" button does the same.
(function () {
  "use strict";
  var form = document.querySelector("form.goal-form");
  if (!form || !window.fetch || !window.DOMParser) {
    return;
  }
  var timer = null;
  function check() {
    var data = new FormData(form);
    data.set("check", "1");
    fetch(window.location.href, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("smart");
        var current = document.getElementById("smart");
        if (fresh && current) {
          current.replaceWith(fresh);
        }
      })
      .catch(function () { /* the button still checks */ });
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 600);
  });
})();
