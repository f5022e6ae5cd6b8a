// The import result page while an import runs: reload every few seconds until it has finished. Without
// JavaScript the page offers a link to show the progress now; "Stop updating" turns this off (?refresh=off).
window.setTimeout(function () {
  window.location.reload();
}, 2000);
