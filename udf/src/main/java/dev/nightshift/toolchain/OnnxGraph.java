package dev.nightshift.toolchain;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A small fluent layer over the ONNX protobuf classes: nodes with generated output names, small
 * constants inline, graph inputs and outputs with symbolic dimensions. Large weights are added
 * by {@link WeightFile} as external-data initializers.
 */
final class OnnxGraph {

    static final String MS = "com.microsoft";

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Map<String, Integer> counters = new LinkedHashMap<>();

    OnnxGraph(String name) {
        graph.setName(name);
    }

    /** Adds a node and returns its single output name. */
    String node(String opType, String name, String[] inputs, Attr... attributes) {
        return nodeMulti(opType, "", name, inputs, 1, attributes)[0];
    }

    /** Adds a com.microsoft node and returns its single output name. */
    String msNode(String opType, String name, String[] inputs, Attr... attributes) {
        return nodeMulti(opType, MS, name, inputs, 1, attributes)[0];
    }

    /** Adds a node with several outputs; an output left unused is still named so it can be read. */
    String[] nodeMulti(String opType, String domain, String name, String[] inputs, int outputs, Attr... attributes) {
        String unique = unique(name);
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(opType).setName(unique).setDomain(domain);
        for (String input : inputs) {
            node.addInput(input == null ? "" : input);
        }
        String[] names = new String[outputs];
        for (int i = 0; i < outputs; i++) {
            names[i] = outputs == 1 ? unique : unique + "/out" + i;
            node.addOutput(names[i]);
        }
        for (Attr attribute : attributes) {
            node.addAttribute(attribute.proto());
        }
        graph.addNode(node);
        return names;
    }

    /** Renames the output of the last node that produced {@code from} (for graph outputs with fixed names). */
    void renameOutput(String from, String to) {
        for (int n = graph.getNodeCount() - 1; n >= 0; n--) {
            NodeProto node = graph.getNode(n);
            for (int o = 0; o < node.getOutputCount(); o++) {
                if (node.getOutput(o).equals(from)) {
                    graph.setNode(n, node.toBuilder().setOutput(o, to));
                    return;
                }
            }
        }
        throw new IllegalStateException("no node produces " + from);
    }

    String constInt64(String name, long... values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long value : values) {
            bytes.putLong(value);
        }
        return constant(name, TensorProto.DataType.INT64_VALUE, new long[]{values.length}, bytes.array());
    }

    String scalarInt64(String name, long value) {
        ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value);
        return constant(name, TensorProto.DataType.INT64_VALUE, new long[0], bytes.array());
    }

    /** An inline initializer for small tensors (shape constants, norms of tiny models). */
    String constant(String name, int dataType, long[] dims, byte[] raw) {
        String unique = unique(name);
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(unique).setDataType(dataType)
                .setRawData(ByteString.copyFrom(raw));
        for (long dim : dims) {
            tensor.addDims(dim);
        }
        graph.addInitializer(tensor);
        return unique;
    }

    void initializer(TensorProto tensor) {
        graph.addInitializer(tensor);
    }

    void input(String name, int elemType, Object... dims) {
        graph.addInput(valueInfo(name, elemType, dims));
    }

    void output(String name, int elemType, Object... dims) {
        graph.addOutput(valueInfo(name, elemType, dims));
    }

    ModelProto model(Map<String, String> metadata) {
        ModelProto.Builder model = ModelProto.newBuilder()
                .setIrVersion(10)
                .setProducerName("nightshift")
                .setProducerVersion("0.1")
                .setGraph(graph);
        model.addOpsetImportBuilder().setDomain("").setVersion(21);
        model.addOpsetImportBuilder().setDomain(MS).setVersion(1);
        metadata.forEach((key, value) -> model.addMetadataPropsBuilder().setKey(key).setValue(value));
        return model.build();
    }

    private static ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object dim : dims) {
            if (dim instanceof String symbol) {
                shape.addDimBuilder().setDimParam(symbol);
            } else {
                shape.addDimBuilder().setDimValue(((Number) dim).longValue());
            }
        }
        TypeProto type = TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(type).build();
    }

    private String unique(String name) {
        int seen = counters.merge(name, 1, Integer::sum);
        return seen == 1 ? name : name + "_" + seen;
    }

    /** A node attribute. */
    record Attr(AttributeProto proto) {
        static Attr of(String name, long value) {
            return new Attr(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT)
                    .setI(value).build());
        }

        static Attr of(String name, float value) {
            return new Attr(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT)
                    .setF(value).build());
        }

        static Attr ints(String name, long... values) {
            AttributeProto.Builder builder = AttributeProto.newBuilder().setName(name)
                    .setType(AttributeProto.AttributeType.INTS);
            for (long value : values) {
                builder.addInts(value);
            }
            return new Attr(builder.build());
        }
    }
}
