// Checks what `dotnet pack` wrote to artifacts/packages (run by .ci/run: dotnet run .ci/check-packages.cs -- FOLDER).
// A .nupkg is a zip: each library must carry its dll, its XML docs, the README, the MIT licence expression and
// exactly the dependencies listed below; the sharpseg tool must be a DotnetTool package; each library needs a snupkg.
using System.IO.Compression;
using System.Xml.Linq;

string folder = args.Length > 0 ? args[0] : "artifacts/packages";
const string Version = "0.1.0";
var expectedDependencies = new Dictionary<string, string[]>
{
    ["SharpSeg.Core"] = ["System.Numerics.Tensors"],
    ["SharpSeg.Nn"] = ["SharpSeg.Core"],
    ["SharpSeg.Data"] = ["BitMiracle.LibTiff.NET", "SharpSeg.Core"],
    ["SharpSeg.Models"] = ["SharpSeg.Nn"],
    ["SharpSeg.Onnx"] = ["Google.Protobuf", "SharpSeg.Data", "SharpSeg.Models"],
    ["SharpSeg.Training"] = ["SharpSeg.Data", "SharpSeg.Models", "SharpSeg.Onnx", "YamlDotNet"],
    ["SharpSeg.Detection"] = ["SharpSeg.Data", "SharpSeg.Models", "SharpSeg.Training"],
    // Packed like the other libraries, so Segmenter.Train users can reference MpiProcessGroup; Open MPI itself is the
    // system's (Debian's openmpi-bin), loaded at run time, never a package dependency.
    ["SharpSeg.Distributed"] = ["SharpSeg.Nn"],
};
var failures = new List<string>();

foreach (var (id, dependencies) in expectedDependencies)
{
    string path = Path.Combine(folder, $"{id}.{Version}.nupkg");
    if (!File.Exists(path)) { failures.Add($"{path}: missing"); continue; }
    using var zip = ZipFile.OpenRead(path);
    var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
    foreach (string required in new[] { $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml", "README.md" })
        if (!entries.Contains(required)) failures.Add($"{path}: no {required}");
    var metadata = Nuspec(zip, id);
    if (metadata.Elem("license")?.Value != "MIT" || (string?)metadata.Elem("license")?.Attribute("type") != "expression")
        failures.Add($"{path}: licence is not the expression MIT");
    if (metadata.Elem("readme")?.Value != "README.md") failures.Add($"{path}: no <readme>README.md</readme>");
    if (string.IsNullOrWhiteSpace(metadata.Elem("description")?.Value)) failures.Add($"{path}: no description");
    var actual = metadata.Descendants().Where(e => e.Name.LocalName == "dependency")
        .Select(e => (string)e.Attribute("id")!).Order(StringComparer.Ordinal).ToArray();
    if (!actual.SequenceEqual(dependencies.Order(StringComparer.Ordinal)))
        failures.Add($"{path}: dependencies [{string.Join(", ", actual)}], expected [{string.Join(", ", dependencies)}]");
    string symbols = Path.ChangeExtension(path, ".snupkg");
    if (!File.Exists(symbols)) failures.Add($"{symbols}: missing");
    else
    {
        using var symbolZip = ZipFile.OpenRead(symbols);
        if (symbolZip.GetEntry($"lib/net10.0/{id}.pdb") is null) failures.Add($"{symbols}: no lib/net10.0/{id}.pdb");
    }
}

string toolPath = Path.Combine(folder, $"sharpseg.{Version}.nupkg");
if (!File.Exists(toolPath)) failures.Add($"{toolPath}: missing");
else
{
    using var zip = ZipFile.OpenRead(toolPath);
    var metadata = Nuspec(zip, "sharpseg");
    bool isTool = metadata.Descendants().Any(e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetTool");
    if (!isTool) failures.Add($"{toolPath}: packageType is not DotnetTool");
    var settings = zip.GetEntry("tools/net10.0/any/DotnetToolSettings.xml");
    if (settings is null) failures.Add($"{toolPath}: no DotnetToolSettings.xml");
    else
    {
        using var stream = settings.Open();
        var command = XDocument.Load(stream).Descendants("Command").FirstOrDefault();
        if ((string?)command?.Attribute("Name") != "sharpseg") failures.Add($"{toolPath}: the tool command is not sharpseg");
    }
    if (zip.GetEntry("tools/net10.0/any/sharpseg.dll") is null) failures.Add($"{toolPath}: no sharpseg.dll");
}

foreach (string failure in failures) Console.Error.WriteLine(failure);
Console.WriteLine(failures.Count == 0 ? $"packages in {folder}: OK" : $"{failures.Count} package problem(s)");
return failures.Count == 0 ? 0 : 1;

static XElement Nuspec(ZipArchive zip, string id)
{
    var entry = zip.GetEntry($"{id}.nuspec") ?? throw new InvalidDataException($"{id}: no {id}.nuspec in the package");
    using var stream = entry.Open();
    return XDocument.Load(stream).Root!.Elem("metadata") ?? throw new InvalidDataException($"{id}.nuspec: no <metadata>");
}

static class NuspecXml
{
    // nuspec files use one of several schema namespaces; match on local names.
    public static XElement? Elem(this XElement element, string name) =>
        element.Elements().FirstOrDefault(e => e.Name.LocalName == name);
}
