using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Serverless.Core.Models.Demo;

/// <summary>
/// A thin layer over the ONNX protobuf types: nodes get stable names ("{name}/output_0" outputs) and
/// initializers wrap their byte arrays without copying, which keeps building a 15 MB model cheap.
/// </summary>
internal sealed class OnnxGraphBuilder(string graphName)
{
    public const string MicrosoftDomain = "com.microsoft";

    private readonly GraphProto _graph = new() { Name = graphName };

    public GraphProto Graph => _graph;

    public void AddInput(string name, DataType type, params object[] dims) => _graph.Input.Add(ValueInfo(name, type, dims));

    public void AddOutput(string name, DataType type, params object[] dims) => _graph.Output.Add(ValueInfo(name, type, dims));

    /// <summary>Adds a node with one output per entry in <paramref name="outputs"/> and returns its first output.</summary>
    public string AddNode(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, string domain = "", params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return node.Output[0];
    }

    /// <summary>Adds a single-output node named after its path and returns the output name.</summary>
    public string AddNode(string opType, string name, IEnumerable<string> inputs, string domain = "", params AttributeProto[] attributes) =>
        AddNode(opType, name, inputs, [name + "/output_0"], domain, attributes);

    public string AddInitializer(string name, DataType type, long[] dims, byte[] rawData)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = UnsafeByteOperations.UnsafeWrap(rawData) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    public string AddFloats(string name, long[] dims, float[] values) =>
        AddInitializer(name, DataType.Float, dims, LittleEndianBytes<float>(values));

    public string AddInt64s(string name, long[] dims, params long[] values) =>
        AddInitializer(name, DataType.Int64, dims, LittleEndianBytes<long>(values));

    public static AttributeProto Attribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attribute(string name, long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private static byte[] LittleEndianBytes<T>(T[] values)
        where T : unmanaged
    {
        // ONNX raw_data is little-endian; so is every platform .NET runs ONNX Runtime on.
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Writing ONNX tensors requires a little-endian platform.");
        }

        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Unsupported dimension {dim}.", nameof(dims)),
            });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
