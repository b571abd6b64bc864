;; String ports: write 10,000 lines to a string port, read them back,
;; format, and string building in many small pieces.
(use-modules (ice-9 rdelim) (ice-9 format))
(define text
  (call-with-output-string
   (lambda (port)
     (let loop ((i 0))
       (when (< i 10000)
         (format port "line ~a: ~a ~s~%" i (* i 7) (list i 'x "y"))
         (loop (+ i 1)))))))
(display (list 'length (string-length text))) (newline)
(define lines
  (call-with-input-string text
    (lambda (port)
      (let loop ((n 0) (sum 0))
        (let ((l (read-line port)))
          (if (eof-object? l) (list n sum)
              (loop (+ n 1) (+ sum (string-length l)))))))))
(display (list 'lines lines)) (newline)
(define data
  (with-input-from-string "(1 2 (3 4) #(5 6) \"seven\" eight 9.5)"
    read))
(write data) (newline)
(define big (with-output-to-string (lambda () (let loop ((i 0)) (when (< i 5000) (write (list i (number->string i 16))) (loop (+ i 1)))))))
(display (list (quote big) (string-length big) (string-take-right big 30))) (newline)
(define pieces (let loop ((i 0) (acc "")) (if (= i 2000) acc (loop (+ i 1) (string-append acc (number->string i))))))
(display (list 'pieces (string-length pieces) (substring pieces 0 20))) (newline)
(display (format #f "~8,3f|~10a|~x|~b" 3.14159 "left" 255 10)) (newline)
