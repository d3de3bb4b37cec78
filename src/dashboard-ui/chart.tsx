/**
 * One Chart.js chart on a canvas. Only the parts the overview draws are registered, which keeps the bundle small.
 * The canvas is hidden from assistive technology: every chart has a table of the same numbers beside it.
 */
// A namespace import names each part once, in the register call; read as `chartjs.X` (never destructured), it
// tree-shakes as named imports do: the bundle is the same.
import * as chartjs from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

chartjs.Chart.register(
  chartjs.BarController,
  chartjs.BarElement,
  chartjs.CategoryScale,
  chartjs.Legend,
  chartjs.LinearScale,
  chartjs.LineController,
  chartjs.LineElement,
  chartjs.PointElement,
  chartjs.Tooltip,
);

export function ChartCanvas({ config }: { config: chartjs.ChartConfiguration }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new chartjs.Chart(canvas.current, {
      ...config,
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options },
    });
    return () => chart.destroy();
  }, [config]);
  return (
    <div class="chart">
      <canvas ref={canvas} aria-hidden="true" />
    </div>
  );
}
