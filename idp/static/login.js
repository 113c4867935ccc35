// Shows the "Code" field as soon as an organisation that requires it is chosen.
// Without JavaScript the page still works: the field appears after the first submit.
(function () {
  var select = document.getElementById("organisation");
  var codeField = document.getElementById("code-field");
  if (!select || !codeField) return;
  function update() {
    var option = select.options[select.selectedIndex];
    codeField.hidden = !(option && option.getAttribute("data-requires-code") === "yes");
  }
  select.addEventListener("change", update);
  update();
})();
