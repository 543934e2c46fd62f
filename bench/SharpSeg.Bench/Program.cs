Console.Error.WriteLine("usage: SharpSeg.Bench ops");
return 2;
