// Shows every <time datetime="…"> in the viewer's own time zone; the UTC value stays in the
// tooltip, so an embargo's end is unambiguous whatever the zone.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("time[datetime]").forEach(function (node) {
    var when = new Date(node.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    node.title = node.textContent.trim();
    node.textContent = when.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
  });
});
