"""Child processes for tests/python/python-faults.test.ts (which kills services around them).

    child.py stream  <gateway> <thread> <token> <run>                 one line per event's data, until done
    child.py publish <api> <run.json> <count> <batch>                 tokens t0…t<count-1>, then done
    child.py forever <api> <run.json>                                 a token every 50 ms until killed
"""

from __future__ import annotations

import json
import sys
import time

from threadline import ExternalRun, RunPublisher, stream_events


def load_run(path: str) -> ExternalRun:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return ExternalRun(data["threadId"], data["runId"], data["publishUrl"], data["publishToken"], data["eventsUrl"])


def main(mode: str, *args: str) -> None:
    if mode == "stream":
        gateway, thread, token, run_id = args
        for event in stream_events(gateway, thread, token, after="0", run_id=run_id, backoff=0.1, max_retries=200):
            print(event.data, flush=True)
    elif mode == "publish":
        api, run_file, count, batch = args
        # Patient retries: the API is killed and restarted while this publishes.
        with RunPublisher(api, load_run(run_file), max_batch=int(batch), retries=40, backoff=0.1, max_backoff=0.5) as pub:
            for i in range(int(count)):
                pub.token(f"t{i} ")
        print("published", flush=True)
    elif mode == "forever":
        api, run_file = args
        pub = RunPublisher(api, load_run(run_file), flush_interval=0.01)
        pub.status("running")
        while True:
            pub.token("tick ")
            pub.flush()
            print("tick", flush=True)
            time.sleep(0.05)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(*sys.argv[1:])
