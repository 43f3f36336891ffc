package io.flinkmamba.sql;

import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A SQL script of job-examples/sql: its ${...} placeholders filled in and split into statements. */
final class SqlScript {
    private static final Pattern SET = Pattern.compile("SET\\s+'([^']+)'\\s*=\\s*'([^']*)'", Pattern.CASE_INSENSITIVE);
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z_]+)}");
    final List<String> statements;

    private SqlScript(List<String> statements) {
        this.statements = statements;
    }

    static Path examples() {
        Path p = Path.of("..", "job-examples", "sql").toAbsolutePath().normalize();
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("job-examples/sql not found at " + p);
        }
        return p;
    }

    static SqlScript load(String name, Map<String, String> values) throws IOException {
        String text = Files.readString(examples().resolve(name));
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder filled = new StringBuilder();
        while (m.find()) {
            String v = values.get(m.group(1));
            if (v == null) {
                throw new IllegalArgumentException(name + ": no value for placeholder ${" + m.group(1) + "}");
            }
            m.appendReplacement(filled, Matcher.quoteReplacement(v));
        }
        m.appendTail(filled);
        return new SqlScript(split(filled.toString()));
    }

    /** Statements end with ';' at the end of a line; an EXECUTE STATEMENT SET block ends with END;. Comment lines are dropped. */
    static List<String> split(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inSet = false;
        for (String line : text.split("\n")) {
            String t = line.strip();
            if (t.startsWith("--") || (t.isEmpty() && cur.length() == 0)) {
                continue;
            }
            cur.append(line).append('\n');
            if (t.toUpperCase().startsWith("EXECUTE STATEMENT SET")) {
                inSet = true;
            }
            boolean end = inSet ? t.equalsIgnoreCase("END;") : t.endsWith(";");
            if (end) {
                String s = cur.toString().strip();
                out.add(s.substring(0, s.length() - 1));
                cur.setLength(0);
                inSet = false;
            }
        }
        if (cur.toString().strip().length() > 0) {
            throw new IllegalArgumentException("unterminated statement: " + cur);
        }
        return out;
    }

    /**
     * Runs the script as the SQL client would: SET goes to the table config, ADD JAR is skipped (the
     * function is on the test classpath), a statement set becomes a {@link StatementSet}; returns it
     * unexecuted when {@code execute} is false (to plan it only).
     */
    StatementSet run(TableEnvironment tEnv, boolean execute) throws Exception {
        StatementSet set = null;
        for (String s : statements) {
            String upper = s.toUpperCase();
            Matcher m = SET.matcher(s);
            if (upper.startsWith("ADD JAR")) {
                continue;
            } else if (m.matches()) {
                tEnv.getConfig().set(m.group(1), m.group(2));
            } else if (upper.startsWith("EXECUTE STATEMENT SET")) {
                set = tEnv.createStatementSet();
                for (String insert : inserts(s)) {
                    set.addInsertSql(insert);
                }
                if (execute) {
                    set.execute().await();
                }
            } else {
                tEnv.executeSql(s).await();
            }
        }
        return set;
    }

    /** The INSERT statements inside an EXECUTE STATEMENT SET ... END block. */
    static List<String> inserts(String statementSet) {
        String body = statementSet.substring(statementSet.toUpperCase().indexOf("BEGIN") + 5);
        body = body.substring(0, body.toUpperCase().lastIndexOf("END"));
        List<String> out = new ArrayList<>();
        for (String s : body.split(";")) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return out;
    }
}
