namespace SharpSeg.Detection;

/// <summary>Marker type of the SharpSeg.Detection assembly.</summary>
public static class DetectionAssembly;
