"""pytest-xdist's load scheduling with one rule more: the tests of LAST_MODULES run after every
other test of the run has finished, and after every other worker has ended. The log hygiene
check (tests/test_log_hygiene.py) reads what all of them logged and saw, so it must come last.

xdist gives a worker its next test before the worker runs the one it holds, so "all done" is
reached by shutting the other workers down, waiting for them to end, and only then giving the
held tests to the one worker still running."""

from xdist.scheduler import LoadScheduling

LAST_MODULES = {"tests/test_log_hygiene.py"}


def runs_last(nodeid: str) -> bool:
    return nodeid.split("::", 1)[0] in LAST_MODULES


class LastScheduling(LoadScheduling):
    held: list[int] | None = None  # the tests that wait for all others; [] once sent
    final = None  # the worker that runs them

    def schedule(self) -> None:
        """LoadScheduling.schedule(), with the held tests kept out of the first shares."""
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = next(iter(self.node2collection.values()))
        self.held = [i for i, nodeid in enumerate(self.collection) if runs_last(nodeid)]
        self.pending[:] = [i for i in range(len(self.collection)) if i not in self.held]
        if self.maxschedchunk is None:
            self.maxschedchunk = len(self.collection)
        share = max(2, min(len(self.pending) // len(self.nodes) // 4, self.maxschedchunk))
        for node in self.nodes:
            self._send_tests(node, share)
        for node in self.nodes:
            self.check_schedule(node)

    def check_schedule(self, node, duration: float = 0) -> None:
        if node.shutting_down:
            return
        if self.pending or not self.held:
            super().check_schedule(node, duration)
            return
        self.final = self.final or node
        if node is not self.final:
            node.shutdown()
        elif len(self.node2pending) == 1:  # every other worker has ended
            self.node2pending[node].extend(self.held)
            node.send_runtest_some(self.held)
            self.held = []
            node.shutdown()

    def remove_node(self, node):
        crashed = super().remove_node(node)
        for remaining in self.nodes:
            self.check_schedule(remaining)
        return crashed

    @property
    def tests_finished(self) -> bool:
        return not self.held and super().tests_finished

    @property
    def has_pending(self) -> bool:
        return bool(self.held) or super().has_pending
