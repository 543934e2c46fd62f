using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace SharpSeg.Nn.Interop;

/// <summary>
/// A pickle reader that never runs code: it executes the pickle virtual machine's data opcodes (protocols 2–5, plus the
/// protocol 0–1 string opcodes Python 2 wrote for <c>bytes</c>) and resolves <c>GLOBAL</c>/<c>STACK_GLOBAL</c> only against
/// a fixed allow-list of the names PyTorch and NumPy use to rebuild tensors; every other global is refused, naming it,
/// before anything is built. Calls (<c>REDUCE</c>, <c>NEWOBJ</c>, <c>BUILD</c>) of an allowed name construct inert
/// records (<see cref="TorchTensorRecord"/>, <see cref="NumpyArrayRecord"/>, dictionaries); nothing is imported,
/// instantiated by reflection, or evaluated. Every length is checked against the bytes left, the stack, memo and mark
/// stack are bounded, tuple nesting is bounded, and dictionary inserts draw from a work budget proportional to the input,
/// so memory and time are linear in the input. Plays the role of Python's <c>pickle.Unpickler</c> with a
/// <c>find_class</c> override, as <c>torch.load(weights_only=True)</c> does.
/// </summary>
internal sealed class RestrictedUnpickler
{
    /// <summary>Most values on the stack at once.</summary>
    public const int MaxStackItems = 1 << 22;

    /// <summary>Most memo entries.</summary>
    public const int MaxMemoEntries = 1 << 22;

    /// <summary>Deepest tuple nesting (a tensor needs 2).</summary>
    public const int MaxTupleDepth = 64;

    /// <summary>Longest LONG1/LONG4 integer, in bytes (PyTorch's legacy magic number needs 10).</summary>
    public const int MaxLongBytes = 64;

    private readonly ReadOnlyMemory<byte> _data;
    private readonly string _source;
    private readonly Func<PyTuple, object>? _persistentLoad;
    private readonly List<object> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object> _memo = [];
    private long _workBudget;
    private int _position;
    private int _opcodeStart;
    private byte _opcode;

    private RestrictedUnpickler(ReadOnlyMemory<byte> data, string source, Func<PyTuple, object>? persistentLoad)
    {
        _data = data;
        _source = source;
        _persistentLoad = persistentLoad;
        _workBudget = 64L * data.Length + (1 << 20);
    }

    /// <summary>
    /// The object <paramref name="data"/> pickles. <paramref name="persistentLoad"/> resolves <c>BINPERSID</c> ids (PyTorch's
    /// storages); without it a persistent id is refused.
    /// </summary>
    /// <exception cref="PickleFormatException">The pickle is malformed, truncated, or asks for anything outside the allow-list.</exception>
    public static object Load(ReadOnlyMemory<byte> data, string source, Func<PyTuple, object>? persistentLoad = null) =>
        new RestrictedUnpickler(data, source, persistentLoad).Run();

    private PickleFormatException Error(string detail) =>
        new(_source, $"pickle opcode {OpcodeName(_opcode)} at byte {_opcodeStart}: {detail}");

    private object Run()
    {
        var span = _data.Span;
        if (span.Length == 0) throw new PickleFormatException(_source, "the pickle is empty");
        while (true)
        {
            if (_position >= span.Length) throw new PickleFormatException(_source, $"the pickle ends at byte {span.Length} without a STOP opcode (truncated file?)");
            _opcodeStart = _position;
            _opcode = span[_position++];
            if (_opcode == (byte)'.')
            {
                if (_marks.Count > 0) throw Error("a MARK is still open");
                if (_stack.Count != 1) throw Error($"the stack holds {_stack.Count} values, not the one result");
                return _stack[0];
            }
            Execute(_opcode);
        }
    }

    private void Execute(byte opcode)
    {
        switch (opcode)
        {
            case 0x80: // PROTO
                int protocol = ReadByte();
                if (protocol > 5) throw Error($"protocol {protocol} is newer than 5, the highest this reader knows");
                break;
            case 0x95: // FRAME: a length prefix for buffered reading; the data is already in memory.
                ulong frame = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
                if (frame > (ulong)(_data.Length - _position)) throw Error($"frame of {frame} bytes runs past the end of the data ({_data.Length - _position} bytes left; truncated file?)");
                break;
            case (byte)'(': // MARK
                if (_marks.Count >= MaxStackItems) throw Error($"more than {MaxStackItems} open MARKs");
                _marks.Push(_stack.Count);
                break;
            case (byte)'0': Pop(); break; // POP
            case (byte)'1': PopMark(); break; // POP_MARK
            case (byte)'2': Push(Peek()); break; // DUP
            case (byte)'N': Push(PyNone.Value); break;
            case 0x88: Push(true); break; // NEWTRUE
            case 0x89: Push(false); break; // NEWFALSE
            case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
            case (byte)'K': Push((long)ReadByte()); break; // BININT1
            case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
            case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
            case 0x8b: Push(ReadLong(BinaryPrimitives.ReadInt32LittleEndian(Take(4)))); break; // LONG4
            case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
            case (byte)'X': Push(ReadUtf8(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // BINUNICODE
            case 0x8c: Push(ReadUtf8(ReadByte())); break; // SHORT_BINUNICODE
            case 0x8d: Push(ReadUtf8(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))); break; // BINUNICODE8
            case (byte)'B': Push(ReadBytes(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // BINBYTES
            case (byte)'C': Push(ReadBytes(ReadByte())); break; // SHORT_BINBYTES
            case 0x8e: // BINBYTES8
            case 0x96: // BYTEARRAY8
                Push(ReadBytes(BinaryPrimitives.ReadUInt64LittleEndian(Take(8))));
                break;
            case (byte)'T': // BINSTRING (Python 2 str, read as bytes as numpy's encoding="bytes"/"latin1" loads expect)
                int length = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
                if (length < 0) throw Error($"negative length {length}");
                Push(ReadBytes((ulong)length));
                break;
            case (byte)'U': Push(ReadBytes(ReadByte())); break; // SHORT_BINSTRING
            case (byte)']': Push(new PyList("list")); break; // EMPTY_LIST
            case (byte)'a': Append(Peek(1), Pop()); break; // APPEND
            case (byte)'e': // APPENDS
                var items = PopMark();
                var list = Peek();
                foreach (var item in items) Append(list, item);
                break;
            case (byte)')': Push(new PyTuple([], 1)); break; // EMPTY_TUPLE
            case (byte)'t': Push(MakeTuple(PopMark())); break; // TUPLE
            case 0x85: Push(MakeTuple([Pop()])); break; // TUPLE1
            case 0x86: // TUPLE2
                var second = Pop();
                Push(MakeTuple([Pop(), second]));
                break;
            case 0x87: // TUPLE3
                var third = Pop();
                var middle = Pop();
                Push(MakeTuple([Pop(), middle, third]));
                break;
            case (byte)'}': Push(new PyDict("dict")); break; // EMPTY_DICT
            case (byte)'s': // SETITEM
                var value = Pop();
                var key = Pop();
                SetItem(Peek(), key, value);
                break;
            case (byte)'u': // SETITEMS
                var pairs = PopMark();
                if (pairs.Count % 2 != 0) throw Error($"{pairs.Count} values after the MARK, not key/value pairs");
                var dict = Peek();
                for (int i = 0; i < pairs.Count; i += 2) SetItem(dict, pairs[i], pairs[i + 1]);
                break;
            case 0x8f: Push(new PyList("set")); break; // EMPTY_SET
            case 0x90: // ADDITEMS
                var members = PopMark();
                var set = Peek();
                if (set is not PyList { TypeName: "set" }) throw Error($"ADDITEMS needs a set, got {Describe(set)}");
                foreach (var member in members) Append(set, member);
                break;
            case 0x91: // FROZENSET
                var frozen = new PyList("frozenset");
                frozen.Items.AddRange(PopMark());
                Push(frozen);
                break;
            case (byte)'q': Memoize(ReadByte()); break; // BINPUT
            case (byte)'r': Memoize(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))); break; // LONG_BINPUT
            case 0x94: Memoize(_memo.Count); break; // MEMOIZE
            case (byte)'h': Push(Recall(ReadByte())); break; // BINGET
            case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET
            case (byte)'c': // GLOBAL
                string module = ReadLine();
                Push(Resolve(module, ReadLine()));
                break;
            case 0x93: // STACK_GLOBAL
                var name = Pop();
                var owner = Pop();
                if (owner is not string ownerName || name is not string globalName)
                    throw Error($"STACK_GLOBAL needs two strings, got {Describe(owner)} and {Describe(name)}");
                Push(Resolve(ownerName, globalName));
                break;
            case (byte)'R': // REDUCE
                var arguments = Pop();
                var callable = Pop();
                Push(Call(callable, arguments));
                break;
            case 0x81: // NEWOBJ: cls.__new__(cls, *args), allowed only for the same names REDUCE may call.
                var newArguments = Pop();
                var type = Pop();
                Push(Call(type, newArguments));
                break;
            case (byte)'b': // BUILD
                var state = Pop();
                Build(Peek(), state);
                break;
            case (byte)'Q': // BINPERSID
                var id = Pop();
                if (_persistentLoad is null) throw Error("a persistent id outside a PyTorch archive (this file is not a torch.save zip)");
                if (id is not PyTuple tuple) throw Error($"persistent id must be a tuple, got {Describe(id)}");
                Push(_persistentLoad(tuple));
                break;
            default:
                throw Error(Unsupported(opcode));
        }
    }

    private static string Unsupported(byte opcode) => opcode switch
    {
        (byte)'i' or (byte)'o' or 0x92 => "builds an arbitrary object; refused (only tensors, arrays and containers are read)",
        0x82 or 0x83 or 0x84 => "uses the copyreg extension registry; refused",
        0x97 or 0x98 => "refers to an out-of-band buffer, which a file cannot carry",
        (byte)'P' => "is a text persistent id (protocol 0), which PyTorch and Paddle never write",
        (byte)'I' or (byte)'L' or (byte)'F' or (byte)'S' or (byte)'V' or (byte)'p' or (byte)'g' or (byte)'l' or (byte)'d' =>
            "is a protocol 0/1 text opcode; only protocols 2–5 are read (re-save with pickle protocol 2 or newer)",
        _ => "is not a pickle opcode (corrupt or not a pickle file)",
    };

    private static string OpcodeName(byte opcode) => opcode switch
    {
        0x80 => "PROTO", 0x95 => "FRAME", (byte)'(' => "MARK", (byte)'0' => "POP", (byte)'1' => "POP_MARK", (byte)'2' => "DUP",
        (byte)'N' => "NONE", 0x88 => "NEWTRUE", 0x89 => "NEWFALSE", (byte)'J' => "BININT", (byte)'K' => "BININT1",
        (byte)'M' => "BININT2", 0x8a => "LONG1", 0x8b => "LONG4", (byte)'G' => "BINFLOAT", (byte)'X' => "BINUNICODE",
        0x8c => "SHORT_BINUNICODE", 0x8d => "BINUNICODE8", (byte)'B' => "BINBYTES", (byte)'C' => "SHORT_BINBYTES",
        0x8e => "BINBYTES8", 0x96 => "BYTEARRAY8", (byte)'T' => "BINSTRING", (byte)'U' => "SHORT_BINSTRING",
        (byte)']' => "EMPTY_LIST", (byte)'a' => "APPEND", (byte)'e' => "APPENDS", (byte)')' => "EMPTY_TUPLE", (byte)'t' => "TUPLE",
        0x85 => "TUPLE1", 0x86 => "TUPLE2", 0x87 => "TUPLE3", (byte)'}' => "EMPTY_DICT", (byte)'s' => "SETITEM",
        (byte)'u' => "SETITEMS", 0x8f => "EMPTY_SET", 0x90 => "ADDITEMS", 0x91 => "FROZENSET", (byte)'q' => "BINPUT",
        (byte)'r' => "LONG_BINPUT", 0x94 => "MEMOIZE", (byte)'h' => "BINGET", (byte)'j' => "LONG_BINGET", (byte)'c' => "GLOBAL",
        0x93 => "STACK_GLOBAL", (byte)'R' => "REDUCE", 0x81 => "NEWOBJ", 0x92 => "NEWOBJ_EX", (byte)'b' => "BUILD",
        (byte)'Q' => "BINPERSID", (byte)'P' => "PERSID", (byte)'i' => "INST", (byte)'o' => "OBJ", (byte)'.' => "STOP",
        0x82 => "EXT1", 0x83 => "EXT2", 0x84 => "EXT4", 0x97 => "NEXT_BUFFER", 0x98 => "READONLY_BUFFER",
        (byte)'I' => "INT", (byte)'L' => "LONG", (byte)'F' => "FLOAT", (byte)'S' => "STRING", (byte)'V' => "UNICODE",
        (byte)'p' => "PUT", (byte)'g' => "GET", (byte)'l' => "LIST", (byte)'d' => "DICT",
        _ => $"0x{opcode:X2}",
    };

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _data.Length - _position)
            throw Error($"needs {count} bytes but only {_data.Length - _position} are left (truncated file?)");
        var span = _data.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    private byte ReadByte() => Take(1)[0];

    private ReadOnlyMemory<byte> TakeMemory(ulong count)
    {
        if (count > (ulong)(_data.Length - _position))
            throw Error($"length {count} runs past the end of the data ({_data.Length - _position} bytes left; truncated file or corrupt length?)");
        var memory = _data.Slice(_position, (int)count);
        _position += (int)count;
        return memory;
    }

    private PyBytes ReadBytes(ulong count) => new(TakeMemory(count));

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private string ReadUtf8(ulong count)
    {
        var bytes = TakeMemory(count);
        try
        {
            return StrictUtf8.GetString(bytes.Span);
        }
        catch (DecoderFallbackException)
        {
            throw Error("string is not valid UTF-8");
        }
    }

    /// <summary>A GLOBAL operand: printable ASCII up to a newline (module and attribute names are never longer than a line).</summary>
    private string ReadLine()
    {
        var rest = _data.Span[_position..];
        int end = rest.IndexOf((byte)'\n');
        if (end < 0) throw Error("name runs to the end of the data without a newline (truncated file?)");
        var line = rest[..end];
        foreach (byte b in line)
            if (b < 0x20 || b > 0x7E) throw Error($"name holds the byte 0x{b:X2}; module and global names are printable ASCII");
        _position += end + 1;
        return Encoding.ASCII.GetString(line);
    }

    private object ReadLong(int length)
    {
        if (length < 0) throw Error($"negative length {length}");
        if (length > MaxLongBytes) throw Error($"integer of {length} bytes exceeds the {MaxLongBytes}-byte limit");
        var bytes = Take(length);
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        // Boxed as long whenever it fits, as BININT values are, so callers need only one integer type.
        if (value >= long.MinValue && value <= long.MaxValue) return (long)value;
        return value;
    }

    private void Push(object value)
    {
        if (_stack.Count >= MaxStackItems) throw Error($"the stack would exceed {MaxStackItems} values");
        _stack.Add(value);
    }

    private object Pop()
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Error(_marks.Count > 0 ? "pops past the open MARK" : "pops an empty stack");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    /// <summary>The value <paramref name="below"/> places under the top, which must not reach under the open MARK.</summary>
    private object Peek(int below = 0)
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count - below <= floor) throw Error(_marks.Count > 0 ? "reads past the open MARK" : "reads an empty stack");
        return _stack[_stack.Count - 1 - below];
    }

    private List<object> PopMark()
    {
        if (_marks.Count == 0) throw Error("no MARK is open");
        int mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private void Memoize(long index)
    {
        if (_memo.Count >= MaxMemoEntries && !_memo.ContainsKey(index)) throw Error($"the memo would exceed {MaxMemoEntries} entries");
        _memo[index] = Peek();
    }

    private object Recall(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Error($"memo entry {index} was never stored");

    private PyTuple MakeTuple(List<object> items)
    {
        int depth = 1;
        foreach (var item in items)
            if (item is PyTuple inner) depth = Math.Max(depth, inner.Depth + 1);
        if (depth > MaxTupleDepth) throw Error($"tuples nest deeper than {MaxTupleDepth} levels");
        return new PyTuple([.. items], depth);
    }

    private void Append(object list, object item)
    {
        if (list is not PyList target) throw Error($"appends to {Describe(list)}, not a list");
        target.Items.Add(item);
    }

    private void SetItem(object dict, object key, object value)
    {
        if (dict is not PyDict target) throw Error($"sets an item on {Describe(dict)}, not a dict");
        if (!PyKeyComparer.IsHashable(key)) throw Error($"dictionary key {Describe(key)} is not a str, bytes, int, float, bool or None");
        Charge(key switch { string s => s.Length, PyBytes b => b.Data.Length, _ => 1 });
        target.Items[key] = value;
    }

    /// <summary>
    /// Draws work proportional to a value's length from the budget. Only operations whose cost depends on an operand that
    /// the memo lets a file reuse for free (hashing a key, encoding a string) are charged: they are what could make a small
    /// file take quadratic time or allocation.
    /// </summary>
    private void Charge(long work)
    {
        _workBudget -= work;
        if (_workBudget < 0) throw Error("the file repeats long keys or strings beyond the work budget for a file of this size");
    }

    // The allow-list. Each name maps to what a call of it builds; names that are only ever passed as arguments (storage
    // types, numpy.ndarray) are allowed to load but refuse to be called.
    private static readonly HashSet<string> StorageTypes =
    [
        "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage", "ShortStorage",
        "CharStorage", "ByteStorage", "BoolStorage",
    ];

    private static readonly HashSet<string> AllowedGlobals =
    [
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
        "collections.OrderedDict", "_codecs.encode",
        "numpy.ndarray", "numpy.dtype",
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
    ];

    private PyGlobal Resolve(string module, string name)
    {
        string full = $"{module}.{name}";
        if (AllowedGlobals.Contains(full) || (module == "torch" && StorageTypes.Contains(name))) return new PyGlobal(module, name);
        throw Error($"global '{full}' is not on the allow-list of tensor-building names; refused, nothing was run " +
                    "(a weight file needs only torch._utils._rebuild_tensor_v2, torch.*Storage, collections.OrderedDict and numpy's array " +
                    "reconstruction; save just the state dict, e.g. torch.save(model.state_dict(), f))");
    }

    private object Call(object callable, object arguments)
    {
        if (callable is not PyGlobal function) throw Error($"calls {Describe(callable)}, which is not an allowed global");
        if (arguments is not PyTuple args) throw Error($"arguments of {function.FullName} must be a tuple, got {Describe(arguments)}");
        string name = function.Module.StartsWith("numpy", StringComparison.Ordinal) ? "numpy." + function.Name : function.FullName;
        return name switch
        {
            "torch._utils._rebuild_tensor_v2" => RebuildTensor(function, args, minimum: 6, maximum: 7),
            "torch._utils._rebuild_tensor" => RebuildTensor(function, args, minimum: 4, maximum: 4),
            "torch._utils._rebuild_parameter" => RebuildParameter(args),
            "collections.OrderedDict" => NewOrderedDict(args),
            "_codecs.encode" => Latin1Encode(args),
            "numpy._reconstruct" => NumpyReconstruct(args),
            "numpy.dtype" => NumpyDTypeRecord.Create(Argument<object>(function, args, 0), this),
            "numpy.scalar" => NumpyScalar(args),
            "numpy._frombuffer" => NumpyFromBuffer(args),
            _ => throw Error($"{function.FullName} may appear in a weight file only as an argument, not be called"),
        };
    }

    internal PickleFormatException Refuse(string detail) => Error(detail);

    private T Argument<T>(PyGlobal function, PyTuple args, int index)
    {
        if (index >= args.Count) throw Error($"{function.FullName} needs at least {index + 1} arguments, got {args.Count}");
        return args[index] is T value ? value : throw Error($"argument {index} of {function.FullName} must be {typeof(T).Name}, got {Describe(args[index])}");
    }

    private long[] IntegerTuple(object value, string what)
    {
        if (value is not PyTuple tuple) throw Error($"{what} must be a tuple of integers, got {Describe(value)}");
        var result = new long[tuple.Count];
        for (int i = 0; i < tuple.Count; i++)
            result[i] = tuple[i] is long v ? v : throw Error($"{what} must be a tuple of integers, item {i} is {Describe(tuple[i])}");
        return result;
    }

    private TorchTensorRecord RebuildTensor(PyGlobal function, PyTuple args, int minimum, int maximum)
    {
        if (args.Count < minimum || args.Count > maximum)
            throw Error($"{function.FullName} takes {minimum}{(maximum > minimum ? $"–{maximum}" : "")} arguments, got {args.Count}");
        var storage = Argument<TorchStorageRecord>(function, args, 0);
        long offset = Argument<long>(function, args, 1);
        return new TorchTensorRecord(storage, offset, IntegerTuple(args[2], "tensor size"), IntegerTuple(args[3], "tensor stride"));
    }

    private TorchTensorRecord RebuildParameter(PyTuple args)
    {
        if (args.Count is < 1 or > 3) throw Error($"torch._utils._rebuild_parameter takes 1–3 arguments, got {args.Count}");
        return args[0] as TorchTensorRecord ?? throw Error($"a Parameter must wrap a tensor, got {Describe(args[0])}");
    }

    private PyDict NewOrderedDict(PyTuple args)
    {
        var dict = new PyDict("OrderedDict");
        if (args.Count == 0) return dict;
        if (args.Count != 1 || args[0] is not PyList { TypeName: "list" } pairs)
            throw Error($"collections.OrderedDict takes no arguments or one list of pairs, got {args.Count} arguments");
        foreach (var pair in pairs.Items)
        {
            if (pair is not PyTuple { Count: 2 } kv) throw Error($"OrderedDict items must be (key, value) pairs, got {Describe(pair)}");
            SetItem(dict, kv[0], kv[1]);
        }
        return dict;
    }

    /// <summary>Protocol 2 pickles Python 3 <c>bytes</c> as <c>_codecs.encode(text, "latin1")</c>; no other use is accepted.</summary>
    private PyBytes Latin1Encode(PyTuple args)
    {
        if (args.Count != 2 || args[0] is not string text || args[1] is not ("latin1" or "latin-1"))
            throw Error("_codecs.encode is allowed only as protocol 2's encoding of bytes: (str, \"latin1\")");
        Charge(text.Length);
        var bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
            bytes[i] = text[i] <= 0xFF ? (byte)text[i] : throw Error($"character U+{(int)text[i]:X4} cannot be latin-1 encoded");
        return new PyBytes(bytes);
    }

    private NumpyArrayRecord NumpyReconstruct(PyTuple args)
    {
        if (args.Count != 3 || args[0] is not PyGlobal { Name: "ndarray" })
            throw Error("numpy's _reconstruct is accepted only as (numpy.ndarray, shape, typecode), how arrays pickle");
        return new NumpyArrayRecord();
    }

    private NumpyArrayRecord NumpyScalar(PyTuple args)
    {
        if (args.Count != 2 || args[0] is not NumpyDTypeRecord dtype || args[1] is not PyBytes data)
            throw Error("numpy's scalar is accepted only as (dtype, bytes)");
        return NumpyArrayRecord.FromParts(dtype, [], fortranOrder: false, data, this);
    }

    private NumpyArrayRecord NumpyFromBuffer(PyTuple args)
    {
        if (args.Count != 4 || args[0] is not PyBytes data || args[1] is not NumpyDTypeRecord dtype || args[3] is not string order)
            throw Error("numpy's _frombuffer is accepted only as (bytes, dtype, shape, order)");
        return NumpyArrayRecord.FromParts(dtype, IntegerTuple(args[2], "array shape"), order == "F", data, this);
    }

    private void Build(object target, object state)
    {
        switch (target)
        {
            case NumpyArrayRecord array: array.SetState(state, this); break;
            case NumpyDTypeRecord dtype: dtype.SetState(state, this); break;
            // An OrderedDict's instance attributes (a state dict's _metadata: per-module versions) carry no weights.
            case PyDict { TypeName: "OrderedDict" }: break;
            default: throw Error($"sets the state of {Describe(target)}, which takes none");
        }
    }

    /// <summary>A short description of a value for error messages (type and, for small scalars, the value).</summary>
    public static string Describe(object value) => value switch
    {
        string s => s.Length <= 40 ? $"str '{s}'" : $"str of {s.Length} characters",
        long l => $"int {l}",
        BigInteger b => $"int of {b.GetByteCount()} bytes",
        double d => $"float {d}",
        bool b => b ? "True" : "False",
        PyNone => "None",
        PyBytes b => $"bytes of length {b.Data.Length}",
        PyTuple t => $"tuple of {t.Count}",
        PyList l => $"{l.TypeName} of {l.Items.Count}",
        PyDict d => $"{d.TypeName} of {d.Items.Count}",
        PyGlobal g => g.FullName,
        TorchStorageRecord s => $"torch storage '{s.Key}'",
        TorchTensorRecord => "torch tensor",
        NumpyArrayRecord => "numpy array",
        NumpyDTypeRecord d => $"numpy dtype {d}",
        _ => value.GetType().Name,
    };
}
