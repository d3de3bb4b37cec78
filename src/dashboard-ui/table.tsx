import type { ComponentChildren } from 'preact';

/** A column's heading; an amount column is aligned to the right, as its cells are (class "amount"). */
export type Column = string | { label: string; amount: true };

/**
 * A table of the dashboard: a caption (the table's name for a screen reader), column headings with scope=col (each
 * cell is read with its column), and the rows given as children. A column given as `false` is left out (one only
 * some roles see). `scroll`: in a box that scrolls sideways on a narrow screen, instead of the whole page.
 */
export function Table(props: {
  caption: string;
  columns: (Column | false)[];
  class?: string;
  scroll?: boolean;
  children: ComponentChildren;
}) {
  const table = (
    <table class={props.class}>
      <caption>{props.caption}</caption>
      <thead>
        <tr>
          {props.columns.map((column) =>
            column === false ? null : typeof column === 'string' ? (
              <th key={column} scope="col">
                {column}
              </th>
            ) : (
              <th key={column.label} scope="col" class="amount">
                {column.label}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
  return props.scroll ? <div class="table-scroll">{table}</div> : table;
}
