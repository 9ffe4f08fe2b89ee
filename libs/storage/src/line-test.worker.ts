import { LineTestWork, testLinesUntil } from './line-tests';
import { serveJobs } from './pool-jobs';

// A thread of LineTestThreads: it only tests lines.
serveJobs<LineTestWork>(testLinesUntil);
