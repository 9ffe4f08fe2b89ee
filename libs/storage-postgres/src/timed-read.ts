import { Fields, LEVELS, LogLine } from '@daylog/log-model';
import { LineFilter, LineRow, LineTester, QueryBudgetExceeded, ReadTime, formatOfCode, testsFields } from '@daylog/storage';
import { PgDatabase } from './pg-database';
import { Statement } from './read-statements';

/** SQLSTATE of a statement cancelled, here by its statement_timeout. */
const QUERY_CANCELED = '57014';

/** The limits of the budget a read throws past: only its time is ever the reason here. */
const NOT_TIMED = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: Infinity, now: () => 0 };

/** How long line tests may take when a read has no time limit: setTimeout cannot wait for ever. */
const UNTIMED_TEST_MS = 86_400_000;

/** Whom a search is for when it names no one (a LineTester shares its threads between clients). */
const NO_CLIENT = '';

/**
 * A text search's read of one window against its time, which starts when the read does: each statement is
 * stopped by the server when the time is up (statement_timeout, in a transaction of its own), each test of lines
 * by the LineTester; either way QueryBudgetExceeded('time'), as the core expects. No connection is held while
 * lines are tested.
 */
export class TimedRead {
  private readonly deadline: number | null;

  constructor(
    private readonly db: PgDatabase,
    private readonly tester: LineTester,
    time: ReadTime,
    private readonly client = NO_CLIENT,
  ) {
    this.deadline = time === null ? null : performance.now() + time.remainingMs;
  }

  async rows<Row extends object>(statement: Statement): Promise<Row[]> {
    const left = this.timeLeft();
    if (left === null) return this.db.query<Row>(statement.text, statement.values, statement.name);
    try {
      return await this.db.transaction(
        async (connection) => (await connection.query<Row>({ text: statement.text, values: statement.values, name: statement.name })).rows,
        left,
      );
    } catch (error) {
      if ((error as { code?: unknown }).code === QUERY_CANCELED) throw outOfTime();
      throw error;
    }
  }

  /**
   * Which rows pass `filter` in JavaScript (lineMatcher's meaning), one flag a row; only the message and time are
   * tested, and the fields and format when a field term asks for them.
   */
  async passing(filter: LineFilter, rows: readonly LineRow[]): Promise<Uint8Array> {
    if (rows.length === 0) return new Uint8Array(0);
    const withFields = testsFields(filter);
    const lines = rows.map(
      (row): LogLine => ({
        ts: row.ts,
        level: LEVELS[row.severity],
        namespace: null,
        pod: '',
        container: null,
        source: null,
        message: row.message,
        fields: withFields && row.fields !== null ? (JSON.parse(row.fields) as Fields) : null,
        format: withFields ? formatOfCode(row.format) : null,
      }),
    );
    const { matches, tested } = await this.tester.testLines(filter, lines, this.timeLeft() ?? UNTIMED_TEST_MS, this.client);
    if (tested < lines.length) throw outOfTime();
    return matches;
  }

  /** Milliseconds left; null: no limit. Throws once none are. */
  private timeLeft(): number | null {
    if (this.deadline === null) return null;
    const left = this.deadline - performance.now();
    if (left <= 0) throw outOfTime();
    return left;
  }
}

function outOfTime(): QueryBudgetExceeded {
  return new QueryBudgetExceeded('time', NOT_TIMED);
}
