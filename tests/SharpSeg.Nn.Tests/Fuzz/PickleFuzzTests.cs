using System.IO.Compression;
using SharpSeg.Nn.Interop;
using SharpSeg.Nn.Tests.WeightFiles;
using SharpSeg.Tests.Fuzz;
using Xunit.Abstractions;

namespace SharpSeg.Nn.Tests.Fuzz;

/// <summary>
/// Seeded mutation fuzzing of the restricted unpickler and the torch.save archive reader (issue 13): every mutated file
/// must load or fail with <see cref="PickleFormatException"/>, the readers' documented exception — never another
/// exception, a hang or a crash. Seeds are the pickles of tools/gen_nn_golden_weightfiles.py.
/// </summary>
public class PickleFuzzTests(ITestOutputHelper output)
{
    private static readonly int Cases = FuzzReport.CasesPerFormat(3000);

    /// <summary>Opcodes a mutation may drop in, so that cases reach every branch of the virtual machine.</summary>
    private static readonly byte[] Opcodes =
        [.. "(012NJKMXCBTU]ae)t}suqrhjcRbQ.GJ"u8, 0x80, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x95, 0x96];

    private static readonly (string, Mutator.Edit)[] PickleEdits =
    [
        ("opcode", (data, r) =>
        {
            var copy = (byte[])data.Clone();
            copy[Mutator.Position(copy.Length, r)] = Opcodes[r.Next(Opcodes.Length)];
            return copy;
        }),
        ("swap bytes", (data, r) =>
        {
            if (data.Length < 4) return null;
            var copy = (byte[])data.Clone();
            int a = Mutator.Position(copy.Length, r), b = Mutator.Position(copy.Length, r);
            (copy[a], copy[b]) = (copy[b], copy[a]);
            return copy;
        }),
    ];

    private static void LoadPickle(byte[] data) =>
        StateDictExtraction.Extract(RestrictedUnpickler.Load(data, "fuzz"), "fuzz", data.Length);

    [Fact]
    public void Mutated_pickles_load_or_fail_with_PickleFormatException()
    {
        (string, byte[])[] seeds =
        [
            ("paddle protocol 2", File.ReadAllBytes(WeightFileTests.PathOf("paddle_params_p2.pdparams"))),
            ("paddle protocol 4", File.ReadAllBytes(WeightFileTests.PathOf("paddle_params_p4.pdparams"))),
        ];

        var report = FuzzReport.Run<PickleFormatException>("pickle", seeds, Cases, seed: 13, new Mutator(PickleEdits), (data, _) => LoadPickle(data));

        output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.InRange(report.Decoded, Cases / 50, Cases);
        Assert.InRange(report.Refused, Cases / 2, Cases);
    }

    /// <summary>Rebuilds the archive around a mutated <c>data.pkl</c>, so the zip stays valid and the pickle is what is tested.</summary>
    private static Mutator.Edit OnDataPickle(Mutator pickleMutator) => (archive, random) =>
    {
        var stream = new MemoryStream();
        stream.Write(archive);
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Update, leaveOpen: true);
            var entry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal));
            if (entry is null) return null;
            string name = entry.FullName;
            byte[] pickle;
            using (var reader = entry.Open())
            {
                var buffer = new MemoryStream();
                reader.CopyTo(buffer);
                pickle = buffer.ToArray();
            }
            entry.Delete();
            using var writer = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            writer.Write(pickleMutator.Mutate(pickle, random).Data);
        }
        catch (InvalidDataException)
        {
            return null;
        }
        return stream.ToArray();
    };

    [Fact]
    public void Mutated_torch_archives_load_or_fail_with_PickleFormatException()
    {
        (string, byte[])[] seeds =
        [
            ("state dict", File.ReadAllBytes(WeightFileTests.PathOf("torch_state_dict.pth"))),
            ("wrapped", File.ReadAllBytes(WeightFileTests.PathOf("torch_wrapped_model.pth"))),
        ];
        var archiveEdits = new (string, Mutator.Edit)[] { ("data.pkl", OnDataPickle(new Mutator(PickleEdits))) };

        var report = FuzzReport.Run<PickleFormatException>("torch zip", seeds, Cases / 3, seed: 14, new Mutator(archiveEdits),
            (data, _) => TorchArchive.Read(new MemoryStream(data), "fuzz.pth"));

        output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.InRange(report.Refused, Cases / 30, Cases);
    }
}
