// A uPlot chart as a Preact component: made once when it appears (with the series it is given then),
// fed new data as it comes (setData, no redraw from scratch), as wide as its box (it follows the box
// when the window is resized) and destroyed when it goes.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartProps {
  testId: string;
  /** Everything but the size; read once, when the chart is made. */
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  height?: number;
}

/** Width when the box has none yet (not laid out): the chart takes its real width on the first resize. */
const FALLBACK_WIDTH = 600;

export function Chart({ testId, options, data, height = 180 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = box.current!;
    const made = new uPlot({ ...options, width: element.clientWidth || FALLBACK_WIDTH, height }, data, element);
    chart.current = made;
    const resize = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== made.width) made.setSize({ width, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      made.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return <div class="chart" ref={box} data-testid={testId} />;
}
