// "Kopieer sleutel": copies the authenticator key, for pasting into the app on this phone.
// Without JavaScript the button stays hidden and the key is still there to type or copy.
(function () {
  var button = document.getElementById("copy-key");
  var key = document.getElementById("totp-key");
  var status = document.getElementById("copy-done");
  if (!button || !key || !status) return;
  function copied() { status.textContent = button.getAttribute("data-done"); }
  function selectKey() {
    // No clipboard (an old browser, or not https): select the key, so "copy" is one tap away.
    var range = document.createRange();
    range.selectNodeContents(key);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { if (document.execCommand("copy")) copied(); } catch (e) { /* the key stays selected */ }
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = key.textContent.replace(/\s+/g, "");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(copied, selectKey);
    } else {
      selectKey();
    }
  });
})();
