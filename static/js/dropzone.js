// Drag-and-drop upload zones: a file dropped on [data-dropzone] goes into the zone's own file input (which stays
// the fallback for keyboards and old browsers), its name is shown, and htmx's upload progress fills the zone's
// bar. Listeners sit on the document, so zones that htmx swaps in work without re-binding.
(function () {
  "use strict";

  function zoneOf(event) {
    return event.target && event.target.closest ? event.target.closest("[data-dropzone]") : null;
  }

  function showName(zone, input) {
    var out = zone.querySelector("[data-dropzone-name]");
    if (!out) return;
    var file = input.files && input.files[0];
    out.textContent = file ? file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)" : "";
  }

  document.addEventListener("dragover", function (event) {
    var zone = zoneOf(event);
    if (!zone) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });

  document.addEventListener("dragleave", function (event) {
    var zone = zoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });

  document.addEventListener("drop", function (event) {
    var zone = zoneOf(event);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    if (!input || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    showName(zone, input);
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-dropzone] input[type=file]")) {
      showName(event.target.closest("[data-dropzone]"), event.target);
    }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = event.target.querySelector ? event.target.querySelector("[data-upload-progress]") : null;
    if (bar && event.detail.lengthComputable) {
      bar.hidden = false;
      bar.value = event.detail.loaded / event.detail.total;
    }
  });
})();
