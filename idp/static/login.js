// Shows the "Code" field (and the way in for a parent without an app yet) as soon as an
// organisation that requires it is chosen.
// Without JavaScript the page still works: the field appears after the first submit.
(function () {
  var select = document.getElementById("organisation");
  var codeField = document.getElementById("code-field");
  var withoutCode = document.getElementById("without-code");
  if (!select || !codeField) return;
  function update() {
    var option = select.options[select.selectedIndex];
    codeField.hidden = !(option && option.getAttribute("data-requires-code") === "yes");
    if (withoutCode) withoutCode.hidden = codeField.hidden;
  }
  select.addEventListener("change", update);
  update();
})();
