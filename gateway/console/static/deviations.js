// The deviations inbox: a "select all on this page" box in the table's head. The row boxes and the
// "Select all on this page" link work without this script; it only adds the quicker box.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) {
    return;
  }
  const boxes = Array.from(document.querySelectorAll('input[type="checkbox"][name="ids"]'));
  const sync = () => {
    const ticked = boxes.filter((box) => box.checked).length;
    all.checked = ticked > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  };
  all.hidden = false;
  all.addEventListener("change", () => {
    boxes.forEach((box) => {
      box.checked = all.checked;
    });
    sync();
  });
  boxes.forEach((box) => box.addEventListener("change", sync));
  sync();
});
