// wakeup.ts - a loop's sleep that something else can cut short: `wait(ms)`
// resolves after ms or at the next `wake()`, whichever comes first. A wake
// with nobody waiting is remembered, so it is never lost between two waits.
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  wake(): void {
    if (this.resolve) {
      const r = this.resolve;
      this.resolve = undefined;
      clearTimeout(this.timer);
      r();
    } else this.pending = true;
  }

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((res) => {
      this.resolve = res;
      this.timer = setTimeout(() => {
        this.resolve = undefined;
        res();
      }, ms);
    });
  }
}
