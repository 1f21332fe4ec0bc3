// crm-bridge portal: sign in from a personal link (the key travels in the URL fragment, which the
// browser never sends to the server), and period pickers that apply on change.
(function () {
  "use strict";
  var KEY = /^cbp_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/;

  function signInFromLink() {
    var form = document.getElementById("signin-form");
    var key = document.getElementById("key");
    var hash = window.location.hash.slice(1);
    if (form && key && KEY.test(hash)) {
      key.value = hash;
      history.replaceState(null, "", window.location.pathname);
      form.submit();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    signInFromLink();
    var tab = document.querySelector(".tabs a.on");  // on a phone the tab bar scrolls: show the current tab
    if (tab && tab.parentNode.scrollWidth > tab.parentNode.clientWidth) {
      tab.parentNode.scrollLeft = tab.offsetLeft - (tab.parentNode.clientWidth - tab.clientWidth) / 2;
    }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
  window.addEventListener("hashchange", signInFromLink);
})();
