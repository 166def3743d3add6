/** Simulated times in violation messages: to the tenth of a millisecond, enough to order. */
export function ms(time: number): string {
  return time.toFixed(1);
}
