namespace SharpSeg.Detection.Tests;

/// <summary>Placeholder so the project has a test until the detection tests land; asserts the assembly loads.</summary>
public class ProjectSmokeTests
{
    [Fact]
    public void AssemblyNameIsSharpSegDetection() =>
        Assert.Equal("SharpSeg.Detection", typeof(DetectionAssembly).Assembly.GetName().Name);
}
