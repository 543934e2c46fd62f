using SharpSeg.Training.Config;

namespace SharpSeg.Training.Tests.Config;

/// <summary>
/// <c>_base_</c> inheritance and overrides with PaddleSeg's rules (paddleseg/cvlibs/config.py: merge_config_dict,
/// parse_from_yaml): mappings merge key by key, lists and scalars replace, the file wins over its bases and an earlier
/// base over a later one, <c>_inherited_: False</c> replaces the base's mapping whole, paths are relative to the file.
/// </summary>
public sealed class ConfigInheritanceTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sharpseg-config-" + Guid.NewGuid().ToString("N"));

    public ConfigInheritanceTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string relative, string yaml)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        return path;
    }

    private static string Yaml(ConfigMap map) => ConfigFile.ToYaml(map);

    [Fact]
    public void ChainsMergeMappingsKeyByKeyAndReplaceLists()
    {
        Write("_base_/grand.yml", """
            batch_size: 2
            iters: 100
            model:
              type: DeepLabV3P
              backbone: {type: ResNet50_vd, output_stride: 8, multi_grid: [1, 2, 4]}
              aspp_ratios: [1, 12, 24, 36]
            """);
        Write("mid/parent.yml", """
            _base_: ../_base_/grand.yml
            iters: 200
            model:
              backbone: {output_stride: 16}
            """);
        string child = Write("mid/deep/child.yml", """
            _base_: '../parent.yml'
            model:
              aspp_ratios: [1, 6, 12, 18]
              backbone: {multi_grid: [1, 1, 1]}
            """);

        var merged = ConfigFile.Load(child);

        Assert.Equal("""
            batch_size: 2
            iters: 200
            model:
              type: DeepLabV3P
              backbone:
                type: ResNet50_vd
                output_stride: 16
                multi_grid: [1, 1, 1]
              aspp_ratios: [1, 6, 12, 18]

            """.ReplaceLineEndings("\n"), Yaml(merged));
    }

    [Fact]
    public void TheFileWinsOverItsBasesAndAnEarlierBaseOverALaterOne()
    {
        Write("a.yml", "batch_size: 1\niters: 10\nmodel: {type: UNet}\n");
        Write("b.yml", "batch_size: 2\niters: 20\nepochs: 3\n");
        string child = Write("c.yml", "_base_: [a.yml, b.yml]\niters: 30\n");

        var merged = ConfigFile.Load(child);

        Assert.Equal("1", ((ConfigScalar)merged["batch_size"]!).Text);
        Assert.Equal("30", ((ConfigScalar)merged["iters"]!).Text);
        Assert.Equal("3", ((ConfigScalar)merged["epochs"]!).Text);
        Assert.Equal("UNet", ((ConfigScalar)((ConfigMap)merged["model"]!)["type"]!).Text);
    }

    [Fact]
    public void InheritedFalseReplacesTheBaseMappingWhole()
    {
        Write("base.yml", "model:\n  type: DeepLabV3P\n  backbone: {type: ResNet50_vd}\n  aspp_out_channels: 128\n");
        string child = Write("child.yml", "_base_: base.yml\nmodel:\n  _inherited_: False\n  type: UNet\n");

        var model = (ConfigMap)ConfigFile.Load(child)["model"]!;

        Assert.Equal(["type"], model.Entries.Select(e => e.Key));
        Assert.Equal("UNet", ((ConfigScalar)model["type"]!).Text);
    }

    [Fact]
    public void ALoopingChainAndAMissingBaseAreErrorsNamingTheFile()
    {
        string a = Write("a.yml", "_base_: b.yml\n");
        Write("b.yml", "_base_: a.yml\n");
        string orphan = Write("orphan.yml", "_base_: nowhere/base.yml\n");

        var loop = Assert.Throws<ConfigException>(() => ConfigFile.Load(a));
        var missing = Assert.Throws<ConfigException>(() => ConfigFile.Load(orphan));

        Assert.Contains("inheritance loops back", loop.Message);
        Assert.Equal("_base_", loop.KeyPath);
        Assert.StartsWith(orphan, missing.Message);
        Assert.Contains(Path.Combine(_root, "nowhere", "base.yml"), missing.Message);
    }

    [Fact]
    public void BadYamlAndDuplicateKeysNameFileAndLine()
    {
        string broken = Write("broken.yml", "batch_size: 2\nmodel: [unclosed\n");
        string twice = Write("twice.yml", "batch_size: 2\niters: 3\nbatch_size: 4\n");

        var syntax = Assert.Throws<ConfigException>(() => ConfigFile.Load(broken));
        var duplicate = Assert.Throws<ConfigException>(() => ConfigFile.Load(twice));

        Assert.StartsWith(broken + ":", syntax.Message);
        Assert.Equal(3, duplicate.Line);
        Assert.StartsWith($"{twice}:3: ", duplicate.Message);
        Assert.Contains("batch_size", duplicate.Message);
    }

    [Fact]
    public void ThePrintedYamlReadsBackToTheSameTree()
    {
        string path = Write("c.yml", """
            a: {b: [1, 'two', null], c: 'x: y'}
            list:
              - {type: Resize, target_size: [8, 8]}
              - type: Normalize
                mean: [0.5, 0.5, 0.5]
            empty: {}
            """);
        var tree = ConfigFile.Load(path);

        string printed = ConfigFile.ToYaml(tree);
        var reread = ConfigFile.ParseText(printed, "printed");

        Assert.Equal(printed, ConfigFile.ToYaml(reread));
        Assert.Equal(ConfigFile.ToJson(tree), ConfigFile.ToJson(reread));
    }

    [Fact]
    public void ScalarsBecomeJsonWithYamlTypingAndQuotedTextStaysText()
    {
        var map = ConfigFile.ParseText("a: [1, 2.5, True, null, '7', x, 4.0e-5]\n", "test");

        Assert.Equal("""{"a":[1,2.5,true,null,"7","x",4E-05]}""", ConfigFile.ToJson(map));
    }
}
