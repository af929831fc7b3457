//! Datasets read as data: the text cells of a Parquet file and of an Arrow
//! IPC file or stream, each handed on with its place (the 0-based row in
//! the file, the dotted path of its leaf column), so that a finding says
//! "row 1234, column messages.list.element.content" rather than a line of
//! a binary file. Recognised by content (magic bytes), like archives.
//!
//! Only string and binary leaf columns are read, value by value, nested
//! ones (list, struct, map) included; numbers are never decoded. Parquet is
//! read a row group at a time through the low-level column readers, a few
//! values at a time, so memory stays near one page and a small batch of
//! values, never a whole row group. Bounded like archives (a column chunk
//! whose metadata says it decodes past the budget is not started; a page's
//! own header is the parquet crate's to check, up to 2 GiB): a cell larger
//! than the member limit is left out (and noted); the cells of a file add
//! up to at most what the shared budget allows, then reading stops with a
//! note. Pure: no I/O, nothing written; a corrupt file is a problem naming
//! the row group or record batch, never a panic.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::basic::Type as PhysicalType;
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{AsBytes, DataType as ParquetType};
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;

use super::archive::Limits;

/// What kind of table a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Parquet,
    ArrowFile,
    ArrowStream,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Parquet => "Parquet file",
            Table::ArrowFile => "Arrow IPC file",
            Table::ArrowStream => "Arrow IPC stream",
        }
    }
}

/// The IPC stream's continuation marker, which opens every message of a
/// stream written since Arrow 0.15 (what `datasets.save_to_disk` writes).
const CONTINUATION: [u8; 4] = [0xff; 4];

/// The table `content` is, from its first bytes.
pub fn kind(content: &[u8]) -> Option<Table> {
    if content.starts_with(b"PAR1") {
        Some(Table::Parquet)
    } else if content.starts_with(b"ARROW1") {
        Some(Table::ArrowFile)
    } else if content.len() >= 8 && content[..4] == CONTINUATION {
        // A schema message follows: its length is small and inside the file.
        let len = u32::from_le_bytes([content[4], content[5], content[6], content[7]]) as usize;
        (len > 0 && len <= content.len() - 8).then_some(Table::ArrowStream)
    } else {
        None
    }
}

/// One cell: the row (0-based in the file), the leaf column, the value.
pub struct Cell<'a> {
    pub row: u64,
    pub column: &'a str,
    pub value: &'a [u8],
}

/// What reading a table met: problems (a corrupt row group, a bound
/// reached) and cells left out for size, named `row R, column C`.
#[derive(Debug, Default)]
pub struct Read {
    pub problems: Vec<String>,
    pub skipped: Vec<(String, u64)>,
    /// Whether the content was a table at all (an Arrow stream's first
    /// bytes can be a coincidence: then it is scanned as bytes).
    pub opened: bool,
}

/// Reads every text cell of `content` (a `table`) into `each`. `left` is
/// what may still be decoded (shared with archives around it); what this
/// table decodes is taken from it.
pub fn read(
    table: Table,
    content: &[u8],
    limits: &Limits,
    left: &mut u64,
    each: &mut dyn FnMut(Cell),
) -> Read {
    let mut cells = Cells {
        limits: *limits,
        left: *left,
        read: Read::default(),
        stopped: false,
        each,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| match table {
        Table::Parquet => parquet_cells(content, &mut cells),
        Table::ArrowFile | Table::ArrowStream => arrow_cells(table, content, &mut cells),
    }));
    if outcome.is_err() {
        cells.read.opened = true;
        cells.read.problems.push(format!(
            "truncated or corrupt {}: its reader failed",
            table.name()
        ));
    }
    *left = cells.left;
    cells.read
}

/// The cells read so far and the bounds on them.
struct Cells<'e> {
    limits: Limits,
    left: u64,
    read: Read,
    /// The total bound was reached: no further cell is read.
    stopped: bool,
    each: &'e mut dyn FnMut(Cell),
}

impl Cells<'_> {
    /// Hands one cell on, within the bounds; `false` once reading must stop.
    fn cell(&mut self, row: u64, column: &str, value: &[u8]) -> bool {
        if self.stopped {
            return false;
        }
        let len = value.len() as u64;
        if len > self.limits.member {
            self.read
                .skipped
                .push((format!("row {row}, column {column}"), len));
            return true;
        }
        if len > self.left {
            self.stopped = true;
            self.read.problems.push(format!(
                "stopped reading at row {row}: its text cells add up to more than {} bytes \
                 (--max-archive-size)",
                self.limits.total
            ));
            return false;
        }
        self.left -= len;
        (self.each)(Cell { row, column, value });
        true
    }
}

fn parquet_cells(content: &[u8], cells: &mut Cells) {
    let reader = match SerializedFileReader::new(bytes::Bytes::copy_from_slice(content)) {
        Ok(r) => r,
        Err(e) => {
            cells.read.opened = true;
            cells
                .read
                .problems
                .push(format!("truncated or corrupt Parquet file: {e}"));
            return;
        }
    };
    cells.read.opened = true;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr_ptr();
    let mut first_row = 0u64;
    for g in 0..meta.num_row_groups() {
        let group = match reader.get_row_group(g) {
            Ok(group) => group,
            Err(e) => {
                cells
                    .read
                    .problems
                    .push(format!("row group {g}: truncated or corrupt: {e}"));
                return;
            }
        };
        for c in 0..schema.num_columns() {
            let column = schema.column(c);
            if !matches!(
                column.physical_type(),
                PhysicalType::BYTE_ARRAY | PhysicalType::FIXED_LEN_BYTE_ARRAY
            ) {
                continue;
            }
            let name = column.path().string();
            let chunk = group.metadata().column(c);
            let decoded = chunk.uncompressed_size().max(0) as u64;
            // Pages are decompressed whole: a column chunk that says it
            // decodes to more than the budget left is not started.
            if decoded > cells.left {
                cells.read.problems.push(format!(
                    "stopped reading at row group {g} (row {first_row}): column {name} decodes to \
                     {decoded} bytes, more than is left of --max-archive-size ({} bytes)",
                    cells.limits.total
                ));
                return;
            }
            let avg = decoded / chunk.num_values().max(1) as u64;
            let leaf = Leaf {
                name: &name,
                first_row,
                max_def: column.max_def_level(),
                max_rep: column.max_rep_level(),
                batch: batch_for(avg),
            };
            let done = match group.get_column_reader(c) {
                Ok(ColumnReader::ByteArrayColumnReader(r)) => leaf.read(r, cells),
                Ok(ColumnReader::FixedLenByteArrayColumnReader(r)) => leaf.read(r, cells),
                Ok(_) => Ok(true),
                Err(e) => Err(e),
            };
            match done {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    cells.read.problems.push(format!(
                        "row group {g}, column {name}: truncated or corrupt: {e}"
                    ));
                    return;
                }
            }
        }
        first_row += group.metadata().num_rows().max(0) as u64;
    }
}

/// Values decoded at once: enough to keep the reader's overhead low, few
/// enough that a batch of large cells stays near 16 MiB.
fn batch_for(average_value: u64) -> usize {
    const BATCH_BYTES: u64 = 16 << 20;
    (BATCH_BYTES / average_value.max(1)).clamp(1, 4096) as usize
}

/// One leaf column of one row group, and how its levels map to rows.
struct Leaf<'a> {
    name: &'a str,
    first_row: u64,
    max_def: i16,
    max_rep: i16,
    batch: usize,
}

impl Leaf<'_> {
    /// Reads the column's values a batch at a time; `Ok(false)` once the
    /// bounds stop the file.
    fn read<T: ParquetType>(
        &self,
        mut reader: ColumnReaderImpl<T>,
        cells: &mut Cells,
    ) -> parquet::errors::Result<bool>
    where
        T::T: AsBytes,
    {
        let mut defs = Vec::new();
        let mut reps = Vec::new();
        let mut values = Vec::new();
        // The row of the next level: with repetition levels, a level of 0
        // starts a row, so counting starts one before the first.
        let mut next_row = self.first_row;
        loop {
            defs.clear();
            reps.clear();
            values.clear();
            let (records, _, levels) =
                reader.read_records(self.batch, Some(&mut defs), Some(&mut reps), &mut values)?;
            if records == 0 && levels == 0 && values.is_empty() {
                return Ok(true);
            }
            if self.max_def == 0 && self.max_rep == 0 {
                for v in &values {
                    if !cells.cell(next_row, self.name, v.as_bytes()) {
                        return Ok(false);
                    }
                    next_row += 1;
                }
                continue;
            }
            let mut value = values.iter();
            for i in 0..levels.min(defs.len().max(reps.len())) {
                let starts_row = self.max_rep == 0 || reps.get(i) == Some(&0);
                if starts_row {
                    next_row += 1;
                }
                let present = self.max_def == 0 || defs.get(i) == Some(&self.max_def);
                if present {
                    let Some(v) = value.next() else { break };
                    if !cells.cell(next_row - 1, self.name, v.as_bytes()) {
                        return Ok(false);
                    }
                }
            }
        }
    }
}

fn arrow_cells(table: Table, content: &[u8], cells: &mut Cells) {
    let batches: Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>> =
        match table {
            Table::ArrowFile => {
                match arrow_ipc::reader::FileReader::try_new(Cursor::new(content), None) {
                    Ok(r) => Box::new(r),
                    Err(e) => {
                        cells.read.opened = true;
                        cells
                            .read
                            .problems
                            .push(format!("truncated or corrupt Arrow IPC file: {e}"));
                        return;
                    }
                }
            }
            _ => match arrow_ipc::reader::StreamReader::try_new(Cursor::new(content), None) {
                Ok(r) => Box::new(r),
                // No schema: not an Arrow stream after all.
                Err(_) => return,
            },
        };
    cells.read.opened = true;
    let mut first_row = 0u64;
    for (b, batch) in batches.enumerate() {
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                cells.read.problems.push(format!(
                    "record batch {b} (from row {first_row}): truncated or corrupt: {e}"
                ));
                return;
            }
        };
        let schema = batch.schema();
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let rows = Rows::From(first_row);
            if !walk(column.as_ref(), field.name(), &rows, cells) {
                return;
            }
        }
        first_row += batch.num_rows() as u64;
    }
}

/// The file row of each element of an array: the top level's rows are
/// consecutive; a nested array's come from the lists around it.
enum Rows {
    From(u64),
    /// `None`: an element no row holds (under a null, or sliced away).
    Each(Vec<Option<u64>>),
}

impl Rows {
    fn of(&self, i: usize) -> Option<u64> {
        match self {
            Rows::From(first) => Some(first + i as u64),
            Rows::Each(rows) => rows.get(i).copied().flatten(),
        }
    }

    /// The rows of a child whose elements `offsets[i]..offsets[i + 1]`
    /// belong to element `i`.
    fn spread(&self, parent: &dyn Array, offsets: &[usize], child_len: usize) -> Rows {
        let mut rows = vec![None; child_len];
        for i in 0..offsets.len().saturating_sub(1) {
            if parent.is_null(i) {
                continue;
            }
            let row = self.of(i);
            let end = offsets[i + 1].min(child_len);
            for slot in rows.iter_mut().take(end).skip(offsets[i]) {
                *slot = row;
            }
        }
        Rows::Each(rows)
    }
}

/// The bytes of a string or binary array's elements.
enum Bytes<'a> {
    Str(&'a arrow_array::StringArray),
    LargeStr(&'a arrow_array::LargeStringArray),
    StrView(&'a arrow_array::StringViewArray),
    Bin(&'a arrow_array::BinaryArray),
    LargeBin(&'a arrow_array::LargeBinaryArray),
    BinView(&'a arrow_array::BinaryViewArray),
    Fixed(&'a arrow_array::FixedSizeBinaryArray),
}

impl<'a> Bytes<'a> {
    fn of(array: &'a dyn Array) -> Option<Bytes<'a>> {
        Some(match array.data_type() {
            DataType::Utf8 => Bytes::Str(array.as_string_opt::<i32>()?),
            DataType::LargeUtf8 => Bytes::LargeStr(array.as_string_opt::<i64>()?),
            DataType::Utf8View => Bytes::StrView(array.as_string_view_opt()?),
            DataType::Binary => Bytes::Bin(array.as_binary_opt::<i32>()?),
            DataType::LargeBinary => Bytes::LargeBin(array.as_binary_opt::<i64>()?),
            DataType::BinaryView => Bytes::BinView(array.as_binary_view_opt()?),
            DataType::FixedSizeBinary(_) => Bytes::Fixed(array.as_fixed_size_binary_opt()?),
            _ => return None,
        })
    }

    fn value(&self, i: usize) -> &'a [u8] {
        match self {
            Bytes::Str(a) => a.value(i).as_bytes(),
            Bytes::LargeStr(a) => a.value(i).as_bytes(),
            Bytes::StrView(a) => a.value(i).as_bytes(),
            Bytes::Bin(a) => a.value(i),
            Bytes::LargeBin(a) => a.value(i),
            Bytes::BinView(a) => a.value(i),
            Bytes::Fixed(a) => a.value(i),
        }
    }
}

/// Hands on every text cell under `array` (named `name`), at its row;
/// `false` once the bounds stop the file.
fn walk(array: &dyn Array, name: &str, rows: &Rows, cells: &mut Cells) -> bool {
    if let Some(bytes) = Bytes::of(array) {
        for i in 0..array.len() {
            if array.is_null(i) {
                continue;
            }
            if let Some(row) = rows.of(i) {
                if !cells.cell(row, name, bytes.value(i)) {
                    return false;
                }
            }
        }
        return true;
    }
    match array.data_type() {
        DataType::List(field) => {
            let Some(list) = array.as_list_opt::<i32>() else {
                return true;
            };
            let offsets: Vec<usize> = list.value_offsets().iter().map(|&o| o as usize).collect();
            let child = rows.spread(array, &offsets, list.values().len());
            walk(
                list.values().as_ref(),
                &format!("{name}.{}", field.name()),
                &child,
                cells,
            )
        }
        DataType::LargeList(field) => {
            let Some(list) = array.as_list_opt::<i64>() else {
                return true;
            };
            let offsets: Vec<usize> = list.value_offsets().iter().map(|&o| o as usize).collect();
            let child = rows.spread(array, &offsets, list.values().len());
            walk(
                list.values().as_ref(),
                &format!("{name}.{}", field.name()),
                &child,
                cells,
            )
        }
        DataType::FixedSizeList(field, size) => {
            let Some(list) = array.as_fixed_size_list_opt() else {
                return true;
            };
            let size = (*size).max(0) as usize;
            let offsets: Vec<usize> = (0..=array.len()).map(|i| i * size).collect();
            let child = rows.spread(array, &offsets, list.values().len());
            walk(
                list.values().as_ref(),
                &format!("{name}.{}", field.name()),
                &child,
                cells,
            )
        }
        DataType::Map(field, _) => {
            let Some(map) = array.as_map_opt() else {
                return true;
            };
            let offsets: Vec<usize> = map.value_offsets().iter().map(|&o| o as usize).collect();
            let entries = map.entries();
            let child = rows.spread(array, &offsets, entries.len());
            walk(entries, &format!("{name}.{}", field.name()), &child, cells)
        }
        DataType::Struct(fields) => {
            let Some(st) = array.as_struct_opt() else {
                return true;
            };
            let masked;
            let rows = if st.null_count() > 0 {
                masked = Rows::Each(
                    (0..array.len())
                        .map(|i| rows.of(i).filter(|_| !array.is_null(i)))
                        .collect(),
                );
                &masked
            } else {
                rows
            };
            fields.iter().zip(st.columns()).all(|(field, column)| {
                walk(
                    column.as_ref(),
                    &format!("{name}.{}", field.name()),
                    rows,
                    cells,
                )
            })
        }
        DataType::Dictionary(_, _) => {
            let Some(dict) = array.as_any_dictionary_opt() else {
                return true;
            };
            let Some(values) = Bytes::of(dict.values().as_ref()) else {
                return true;
            };
            let len = dict.values().len();
            for (i, k) in dict.normalized_keys().into_iter().enumerate() {
                if array.is_null(i) || k >= len || dict.values().is_null(k) {
                    continue;
                }
                if let Some(row) = rows.of(i) {
                    if !cells.cell(row, name, values.value(k)) {
                        return false;
                    }
                }
            }
            true
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, ListArray, StringArray, StructArray};
    use arrow_schema::{Field, Fields, Schema};

    fn limits() -> Limits {
        Limits {
            member: 50 << 20,
            total: 256 << 20,
            ratio: 100,
        }
    }

    fn cells_of(content: &[u8]) -> (Vec<(u64, String, String)>, Read) {
        let mut got = Vec::new();
        let table = kind(content).expect("a table");
        let read = read(table, content, &limits(), &mut (256 << 20), &mut |c| {
            got.push((
                c.row,
                c.column.to_string(),
                String::from_utf8_lossy(c.value).into_owned(),
            ))
        });
        (got, read)
    }

    fn chat_batch() -> RecordBatch {
        let content = StringArray::from(vec![Some("hi"), Some("there"), None, Some("bye")]);
        let role = StringArray::from(vec!["user", "assistant", "user", "user"]);
        let msg_fields = Fields::from(vec![
            Field::new("role", DataType::Utf8, false),
            Field::new("content", DataType::Utf8, true),
        ]);
        let structs = StructArray::new(
            msg_fields.clone(),
            vec![Arc::new(role) as ArrayRef, Arc::new(content)],
            None,
        );
        let item = Arc::new(Field::new("item", DataType::Struct(msg_fields), true));
        let offsets = arrow_buffer::OffsetBuffer::new(vec![0, 2, 2, 4].into());
        let list = ListArray::new(item.clone(), offsets, Arc::new(structs), None);
        let score = Float64Array::from(vec![1.0, 2.0, 3.0]);
        let schema = Schema::new(vec![
            Field::new("messages", DataType::List(item), true),
            Field::new("score", DataType::Float64, false),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(list), Arc::new(score)]).unwrap()
    }

    #[test]
    fn an_arrow_stream_gives_nested_cells_at_their_rows() {
        let batch = chat_batch();
        let mut out = Vec::new();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        assert_eq!(kind(&out), Some(Table::ArrowStream));
        let (got, read) = cells_of(&out);
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        let at: Vec<(u64, &str, &str)> = got
            .iter()
            .map(|(r, c, v)| (*r, c.as_str(), v.as_str()))
            .filter(|(_, c, _)| c.ends_with("content"))
            .collect();
        assert_eq!(
            at,
            [
                (0, "messages.item.content", "hi"),
                (0, "messages.item.content", "there"),
                (2, "messages.item.content", "bye"),
                (3, "messages.item.content", "hi"),
                (3, "messages.item.content", "there"),
                (5, "messages.item.content", "bye"),
            ]
        );
    }

    #[test]
    fn a_truncated_arrow_file_is_a_problem_not_a_panic() {
        let batch = chat_batch();
        let mut out = Vec::new();
        let mut w = arrow_ipc::writer::FileWriter::try_new(&mut out, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        assert_eq!(kind(&out), Some(Table::ArrowFile));
        assert_eq!(cells_of(&out).0.len(), 7);
        for cut in [8, out.len() / 2, out.len() - 3] {
            let (_, read) = cells_of(&out[..cut]);
            assert!(read.opened);
            assert!(!read.problems.is_empty(), "cut at {cut}");
        }
    }

    #[test]
    fn arbitrary_bytes_after_a_magic_do_not_panic() {
        let mut rng = 7u64;
        for len in [0usize, 4, 9, 64, 500] {
            for magic in [
                &b"PAR1"[..],
                b"ARROW1\0\0",
                &[0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0],
            ] {
                let mut data = magic.to_vec();
                for _ in 0..len {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                    data.push((rng >> 33) as u8);
                }
                if let Some(t) = kind(&data) {
                    let _ = read(t, &data, &limits(), &mut (1 << 20), &mut |_| {});
                }
            }
        }
    }
}
