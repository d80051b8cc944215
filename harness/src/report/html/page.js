// The recovery-matrix page's filter (harness/src/report/html.rs): a row per SDK, a column
// group per fault, a block per strategy; unchecking a box hides them.
(function () {
  'use strict';
  const form = document.getElementById('filters');
  const matrix = document.getElementById('matrix');
  const checked = (name) => new Set(
    Array.from(form.querySelectorAll('input[name="' + name + '"]:checked'), (i) => i.value));
  function apply() {
    const sdk = checked('sdk');
    const fault = checked('fault');
    const strategy = checked('strategy');
    const rows = Array.from(matrix.tBodies[0].rows);
    rows.forEach((tr) => { tr.hidden = !sdk.has(tr.dataset.sdk); });
    matrix.querySelectorAll('[data-fault]').forEach((el) => { el.hidden = !fault.has(el.dataset.fault); });
    matrix.querySelectorAll('.cell').forEach((el) => { el.hidden = !strategy.has(el.dataset.strategy); });
    // A surface spans its visible scenario columns, and hides with the last of them.
    matrix.querySelectorAll('th.surface').forEach((th) => {
      const n = Array.from(matrix.querySelectorAll('th.scenario'))
        .filter((s) => s.dataset.surface === th.dataset.surface && !s.hidden).length;
      th.hidden = n === 0;
      th.colSpan = Math.max(n, 1);
    });
    const columns = Array.from(matrix.querySelectorAll('th.scenario')).filter((s) => !s.hidden).length;
    const shown = rows.filter((tr) => !tr.hidden).length;
    document.getElementById('shown').textContent =
      'showing ' + shown + ' of ' + rows.length + ' SDK rows, ' + columns + ' scenario columns';
  }
  form.addEventListener('change', apply);
  apply();
})();
