using SharpSeg.Bench;

return BenchCommand.Run(args);
