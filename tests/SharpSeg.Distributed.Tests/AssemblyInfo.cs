// Each test starts an mpirun job whose ranks keep the cores busy; run one job at a time so that jobs do not slow each
// other down past the tests' deadlines (a failing job must end within seconds).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
