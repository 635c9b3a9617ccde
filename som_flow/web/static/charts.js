// The forecast page's charts, drawn by Chart.js from the figures the page embeds (#chart-data, a JSON block: the
// CSP allows no inline script). Each chart's table stays beside it: the accessible fallback, and the exact figures.
(function () {
  const source = document.getElementById('chart-data');
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const words = data.texts;
  // the locale the page's tables are formatted in, so a tick reads like the cell under it
  const locale = data.locale || document.documentElement.lang || 'en';

  function currencyFormat(options) {
    try {
      return new Intl.NumberFormat(locale, Object.assign({style: 'currency', currency: data.currency}, options));
    } catch (err) { // a catalog code Intl does not know: the number, then the code
      const plain = new Intl.NumberFormat(locale, options);
      return {format: function (value) { return plain.format(value) + ' ' + data.currency; }};
    }
  }
  const money = currencyFormat({});
  const shortMoney = currencyFormat({notation: 'compact', maximumFractionDigits: 1});
  const whole = new Intl.NumberFormat(locale, {maximumFractionDigits: 0});

  const style = getComputedStyle(document.body);
  Chart.defaults.font.family = style.fontFamily;
  Chart.defaults.color = style.color;
  if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) Chart.defaults.animation = false;
  const narrow = window.matchMedia('(max-width: 48rem)').matches;

  // unweighted light with an outline, weighted solid dark: told apart by more than hue
  const UNWEIGHTED = {backgroundColor: '#c7d2e8', borderColor: '#2f5fb3', borderWidth: 1};
  const WEIGHTED = {backgroundColor: '#2f5fb3', borderColor: '#2f5fb3', borderWidth: 1};
  const WON = {backgroundColor: '#2e7d32', borderColor: '#2e7d32', borderWidth: 1};

  function valueAxis(title, format) {
    return {beginAtZero: true, title: {display: true, text: title},
            ticks: {precision: 0,  // whole units: no $0.1 steps when every figure is 0
                    callback: function (value) { return format.format(value); }}};
  }

  function categoryAxis(title) {
    return {title: {display: true, text: title}, ticks: {autoSkip: true}};
  }

  // the tooltip names the series and gives the figure as the table does
  function tooltip(format, valueKey) {
    return {callbacks: {label: function (ctx) {
      const value = ctx.parsed[valueKey];
      return ctx.dataset.label + ': ' + (value === null ? words.no_snapshot : format.format(value));
    }}};
  }

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({responsive: true, maintainAspectRatio: true, aspectRatio: narrow ? 1.1 : 2.4},
                                   config.options);
    new Chart(canvas, config);
  }

  // amounts by month or period: one bar series per figure, the currency on the value axis and in the tooltip
  function moneyBars(id, labels, axisWord, series) {
    draw(id, {
      type: 'bar',
      data: {labels: labels, datasets: series.map(([label, values, look]) => Object.assign({label, data: values}, look))},
      options: {scales: {x: categoryAxis(axisWord), y: valueAxis(words.amount, shortMoney)},
                plugins: {legend: {position: 'top'}, tooltip: tooltip(money, 'y')}}
    });
  }

  moneyBars('forecast-chart', data.forecast.labels, words.group, [
    [words.unweighted, data.forecast.amount, UNWEIGHTED], [words.weighted, data.forecast.weighted, WEIGHTED]]);
  moneyBars('compare-chart', data.compare.labels, words.period, [
    [words.forecast_unweighted, data.compare.amount, UNWEIGHTED],
    [words.forecast_weighted, data.compare.weighted, WEIGHTED], [words.won, data.compare.won, WON]]);

  // the funnel lies on its side: stage names read along the left, counts along the bottom
  draw('funnel-chart', {
    type: 'bar',
    data: {labels: data.funnel.labels, datasets: [
      Object.assign({label: words.entered, data: data.funnel.entered}, UNWEIGHTED),
      Object.assign({label: words.advanced, data: data.funnel.advanced}, WEIGHTED)]},
    options: {indexAxis: 'y', aspectRatio: narrow ? 1 : Math.max(1.2, 3.2 - 0.2 * data.funnel.labels.length),
              scales: {x: valueAxis(words.deals, whole), y: categoryAxis(words.stage)},
              plugins: {legend: {position: 'top'}, tooltip: tooltip(whole, 'x')}}
  });
})();
