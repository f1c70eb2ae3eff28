// The console's small helpers on top of htmx: drag and drop, placeholder buttons, DTMF rows.
(function () {
  "use strict";

  function insertAtCursor(area, text) {
    var start = area.selectionStart, end = area.selectionEnd;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    area.selectionStart = area.selectionEnd = start + text.length;
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-insert]");
    if (button) {
      insertAtCursor(document.getElementById("message"), button.getAttribute("data-insert"));
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var zone = document.getElementById("drop-zone"), input = document.getElementById("file");
    if (zone && input) {
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        if (event.dataTransfer && event.dataTransfer.files.length) {
          input.files = event.dataTransfer.files;
          input.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
    }
    var add = document.getElementById("dtmf-add"), template = document.getElementById("dtmf-row-template");
    if (add && template) {
      add.hidden = false;
      add.addEventListener("click", function () {
        var body = document.querySelector("#dtmf-rows tbody");
        if (body.children.length < 9) { body.appendChild(template.content.cloneNode(true)); }
      });
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "file-preview" && window.htmx) {
      window.htmx.trigger("#message", "refresh");
    }
  });
})();
