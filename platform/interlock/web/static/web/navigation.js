// The header's Menu button on narrow screens, and closing the header's menus (<details>) on a click
// elsewhere or Escape. Without this script the navigation stays open and wraps, and the menus
// still open and close: nothing here is needed to reach a page.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  var nav = document.getElementById("site-nav");
  var toggle = document.querySelector(".menu-toggle");
  if (nav && toggle) {
    nav.classList.add("collapsed");
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("collapsed") === false;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  var menus = document.querySelectorAll(".nav-menu");
  document.addEventListener("click", function (event) {
    menus.forEach(function (menu) {
      if (menu.open && !menu.contains(event.target)) { menu.open = false; }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    menus.forEach(function (menu) {
      if (menu.open) { menu.open = false; menu.querySelector("summary").focus(); }
    });
  });
});
