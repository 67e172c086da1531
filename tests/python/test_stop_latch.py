"""The stop latch wakes the main thread whichever thread takes the signal."""

import subprocess
import sys
import textwrap

# Runs in its own interpreter: it installs signal handlers.
SCRIPT = textwrap.dedent(
    """
    import signal, threading, time
    from snakepit_bridge.stop_latch import StopLatch

    latch = StopLatch()
    signal.signal(signal.SIGTERM, lambda signum, frame: latch.request("SIGTERM"))
    latch.use_as_signal_wakeup()

    def deliver_to_this_thread():
        time.sleep(0.2)  # the main thread is blocked in wait() by now
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    threading.Thread(target=deliver_to_this_thread).start()
    started = time.monotonic()
    reason, _ = latch.wait()
    print(reason, round(time.monotonic() - started, 3))
    """
)


def test_a_signal_taken_by_another_thread_still_stops_the_main_thread():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=10
    )
    assert done.returncode == 0, done.stderr
    reason, waited = done.stdout.split()
    assert reason == "SIGTERM"
    assert float(waited) < 2.0


def test_a_request_from_another_thread_wakes_wait():
    import threading

    from snakepit_bridge.stop_latch import StopLatch

    latch = StopLatch()
    threading.Timer(0.05, latch.request, args=("Shutdown", 1.5)).start()
    assert latch.wait() == ("Shutdown", 1.5)
    assert latch.requested
