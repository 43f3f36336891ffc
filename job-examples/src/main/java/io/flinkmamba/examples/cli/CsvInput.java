package io.flinkmamba.examples.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The score command's input: {@code timestamp,value[,value...][,key]} with a header row. The last
 * column is the key when its header is {@code key}; without one every row belongs to one stream.
 * Timestamps are epoch milliseconds or ISO-8601 ({@code 2024-01-31T12:00:00Z}, or without zone as
 * UTC). Plain comma-separated fields, no quoting. Blank lines are skipped; every other row that
 * cannot be read (wrong column count, a timestamp or value that is not a number, a value that is not
 * finite) is kept as a bad row with its line number and the reason.
 */
final class CsvInput {
    static final String DEFAULT_KEY = "default";

    final String header;
    final List<String> valueColumns;
    final boolean hasKey;
    final List<CsvRow> rows = new ArrayList<>();
    /** Original text of each line, by line number (index 0 unused). */
    final List<String> lines = new ArrayList<>();
    final List<String> badRows = new ArrayList<>();

    private CsvInput(String header, List<String> valueColumns, boolean hasKey) {
        this.header = header;
        this.valueColumns = valueColumns;
        this.hasKey = hasKey;
    }

    static CsvInput read(Path file) throws IOException {
        try (BufferedReader reader = Files.newBufferedReader(file)) {
            String header = reader.readLine();
            if (header == null || header.isBlank()) {
                throw new IllegalArgumentException(file + ": empty file; expected a header row timestamp,value[,value...][,key]");
            }
            header = stripBom(header.strip());
            String[] names = header.split(",", -1);
            boolean hasKey = names.length >= 3 && names[names.length - 1].strip().equalsIgnoreCase("key");
            int valueCount = names.length - 1 - (hasKey ? 1 : 0);
            if (valueCount < 1) {
                throw new IllegalArgumentException(file + ": header '" + header
                        + "' has no value column; expected timestamp,value[,value...][,key]");
            }
            List<String> valueColumns = new ArrayList<>();
            for (int i = 1; i <= valueCount; i++) {
                valueColumns.add(names[i].strip());
            }
            CsvInput in = new CsvInput(header, valueColumns, hasKey);
            in.lines.add(null);
            in.lines.add(header);
            String text;
            long line = 1;
            while ((text = reader.readLine()) != null) {
                line++;
                in.lines.add(text);
                if (text.isBlank()) {
                    continue;
                }
                in.parse(line, text.strip(), names.length);
            }
            return in;
        }
    }

    private void parse(long line, String text, int columns) {
        String[] fields = text.split(",", -1);
        if (fields.length != columns) {
            badRows.add("line " + line + ": expected " + columns + " columns, got " + fields.length);
            return;
        }
        long timestamp;
        try {
            timestamp = parseTime(fields[0].strip());
        } catch (IllegalArgumentException e) {
            badRows.add("line " + line + ": timestamp '" + fields[0].strip() + "' is neither epoch milliseconds nor ISO-8601");
            return;
        }
        float[] values = new float[valueColumns.size()];
        for (int i = 0; i < values.length; i++) {
            String field = fields[1 + i].strip();
            try {
                values[i] = Float.parseFloat(field);
            } catch (NumberFormatException e) {
                badRows.add("line " + line + ": " + valueColumns.get(i) + " '" + field + "' is not a number");
                return;
            }
            if (!Float.isFinite(values[i])) {
                badRows.add("line " + line + ": " + valueColumns.get(i) + " is not finite (" + field + ")");
                return;
            }
        }
        String key = hasKey ? fields[columns - 1].strip() : DEFAULT_KEY;
        rows.add(new CsvRow(line, key, timestamp, values));
    }

    static long parseTime(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException notLong) {
            try {
                return Instant.parse(s).toEpochMilli();
            } catch (DateTimeParseException notInstant) {
                try {
                    return LocalDateTime.parse(s.replace(' ', 'T')).toInstant(ZoneOffset.UTC).toEpochMilli();
                } catch (DateTimeParseException e) {
                    throw new IllegalArgumentException(s);
                }
            }
        }
    }

    private static String stripBom(String s) {
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d rows, %d bad, columns %s", rows.size(), badRows.size(), Arrays.asList(header));
    }
}
