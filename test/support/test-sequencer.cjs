/**
 * Runs the integration suites in Jest's usual order, except that the chaos suite goes last: it is
 * the longest, and it checks the guarantees once everything else has passed.
 */
const Sequencer = require('@jest/test-sequencer').default;

const LAST = /chaos\.int-spec\.ts$/;

class ChaosLastSequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    return [
      ...sorted.filter((test) => !LAST.test(test.path)),
      ...sorted.filter((test) => LAST.test(test.path)),
    ];
  }
}

module.exports = ChaosLastSequencer;
