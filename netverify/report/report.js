// Copy buttons: the commands are plain text in <pre>, so the report reads the same without
// JavaScript; the buttons only appear when this script runs.
(function () {
  var status = document.getElementById("copy-status");
  function copied(button, ok) {
    button.textContent = ok ? "Copied" : "Select and copy";
    status.textContent = ok ? "Command copied to the clipboard." : "Copying failed; select the command and copy it.";
    setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }
  function fallback(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var text = source.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { copied(button, true); },
          function () { copied(button, fallback(source)); });
      } else {
        copied(button, fallback(source));
      }
    });
  });
})();
