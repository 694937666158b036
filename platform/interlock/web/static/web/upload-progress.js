// Upload forms marked data-upload-progress send their file with XMLHttpRequest, so the page can
// show how much has been sent; the server answers with the page to go to next (its message is
// shown there). Without JavaScript the form posts as usual and the server redirects.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload-progress")) return;
  event.preventDefault();
  const bar = form.querySelector("progress");
  const note = form.querySelector("[data-upload-note]");
  const button = form.querySelector("button[type=submit]");
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("X-Upload-Progress", "1");
  request.responseType = "json";
  request.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    bar.max = progress.total;
    bar.value = progress.loaded;
    note.textContent = `${Math.round((100 * progress.loaded) / progress.total)}% sent`;
  });
  request.upload.addEventListener("load", () => {
    note.textContent = "sent; encrypting and hashing…";
  });
  request.addEventListener("load", () => {
    const next = request.response && request.response.location;
    if (request.status === 200 && next) {
      window.location.assign(next);
    } else {
      note.textContent = `The upload was refused (${request.status}); nothing was kept.`;
      button.disabled = false;
    }
  });
  request.addEventListener("error", () => {
    note.textContent = "The upload failed; nothing was kept.";
    button.disabled = false;
  });
  bar.hidden = false;
  button.disabled = true;
  request.send(new FormData(form));
});
