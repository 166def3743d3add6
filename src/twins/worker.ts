/** A Twins worker thread: runs the schedules it is sent and posts back each verdict. */
import { parentPort } from 'node:worker_threads';
import { scheduleAt } from './generate.js';
import { runSchedule, type TwinsConfig } from './run.js';

export interface TwinsTask {
  config: TwinsConfig;
  /** Schedule index, as a decimal string (bigints do not cross postMessage in every Node). */
  index: string;
}

parentPort!.on('message', (task: TwinsTask) => {
  parentPort!.postMessage(runSchedule(task.config, scheduleAt(task.config, BigInt(task.index))));
});
